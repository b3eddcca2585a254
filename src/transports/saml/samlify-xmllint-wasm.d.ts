/** @authenio/samlify-xmllint-wasm 1.0.1 ships no types. Resolves true, or rejects with ERR_EXCEPTION_VALIDATE_XML. */
declare module '@authenio/samlify-xmllint-wasm' {
  export function validate(xml: string): Promise<true>;
}
