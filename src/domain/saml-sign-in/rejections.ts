import { DomainError } from '../model/index.js';

/** A sign-in the protocol refuses (replayed, unsolicited, not started here): SAML_REJECTED with the reason in details. */
export const samlRejected = (message: string, details: Record<string, unknown> = {}): DomainError => new DomainError('SAML_REJECTED', message, details);
