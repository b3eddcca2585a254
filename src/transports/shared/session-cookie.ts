/** The session cookie, shared by every edge that signs in (SAML ACS, email, invitations) and the one that reads it. */
import type { FastifyReply } from 'fastify';

export const SESSION_COOKIE = 'orgway_session';

/** HttpOnly, Lax, Secure unless the public URL is plain http; expires with the session (none: a browser-session cookie). */
export const setSessionCookie = (reply: FastifyReply, token: string, expiresAt: Date | null, publicUrl: string): void => {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: !publicUrl.startsWith('http://'),
    ...(expiresAt ? { expires: expiresAt } : {}),
  });
};
