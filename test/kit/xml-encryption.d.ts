/** The XML encryption samlify uses (a dependency of samlify); tests encrypt hand-built assertions with it. */
declare module '@authenio/xml-encryption' {
  interface EncryptOptions {
    rsa_pub: Buffer;
    pem: Buffer;
    encryptionAlgorithm: string;
    keyEncryptionAlgorithm: string;
  }
  const xmlenc: { encrypt(content: string, options: EncryptOptions, callback: (error: Error | null, result?: string) => void): void };
  export default xmlenc;
}
