/** The largest request body any edge reads (a SAML response); the server's default limit too. */
export const MAX_BODY_BYTES = 256 * 1024;
