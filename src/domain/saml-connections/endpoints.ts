/** Our SP endpoints for one SAML connection (SPEC §2): every URL an IdP or a browser is given. */
export interface SamlEndpoints {
  /** Assertion Consumer Service (HTTP-POST). */
  acsUrl: string;
  /** Our SP metadata URL, which is also the SP entity id and the Audience. */
  entityId: string;
  /** SP-initiated sign-in (add ?organizationId=… to land in one organization). */
  loginUrl: string;
}

export const samlEndpoints = (publicUrl: string, connectionId: string): SamlEndpoints => {
  // Generated ids need no escaping; encoding keeps any other id inside its path segment.
  const base = `${publicUrl}/saml/${encodeURIComponent(connectionId)}`;
  return { acsUrl: `${base}/acs`, entityId: `${base}/metadata`, loginUrl: `${base}/login` };
};
