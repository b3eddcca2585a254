/** How a verification step refuses: INVALID_SAML (malformed) or SAML_REJECTED (well-formed, not acceptable), naming the step. */
import { DomainError, truncate } from '../../domain/model/index.js';

export type VerificationStep =
  | 'readForm'
  | 'decodeBase64'
  | 'rejectDtd'
  | 'parseResponse'
  | 'validateSchema'
  | 'checkStructure'
  | 'decryptAssertion'
  | 'verifySignature'
  | 'checkIssuer'
  | 'checkDestination'
  | 'checkAudience'
  | 'checkTimeWindow'
  | 'checkInResponseTo'
  | 'extract';

export const invalid = (step: VerificationStep, message: string, detail?: string): DomainError =>
  new DomainError('INVALID_SAML', message, { step, ...(detail ? { detail: truncate(detail, 1000) } : {}) });

export const rejected = (step: VerificationStep, message: string, detail?: string): DomainError =>
  new DomainError('SAML_REJECTED', message, { step, ...(detail ? { detail: truncate(detail, 1000) } : {}) });

