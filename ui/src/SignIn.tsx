// Sign-in: an email, then either the organization's SSO (home-realm discovery) or a one-time code by email.
import { type FormEvent, useState } from 'react';
import { Button, ErrorAlert } from './kit';

interface SsoRoute {
  connectionId: string;
  loginUrl: string;
}

/** The auth routes answer `{ error: { code, message } }`; the message is for people. */
const postJson = async (url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, unknown> };
};

const refusal = (json: Record<string, unknown>, fallback: string): string => {
  const error = json.error as { message?: unknown } | undefined;
  return typeof error?.message === 'string' ? error.message : fallback;
};

export const SignIn = () => {
  const [step, setStep] = useState<'email' | 'code' | 'sso'>('email');
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const goToSso = (route: SsoRoute) => {
    setStep('sso');
    location.assign(route.loginUrl);
  };

  const start = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const discovery = await fetch(`/auth/discover?email=${encodeURIComponent(email)}`, { headers: { accept: 'application/json' } });
      const routing = (await discovery.json().catch(() => ({}))) as { sso?: SsoRoute | null; error?: { message?: string } };
      if (!discovery.ok) return setError(refusal(routing, 'Could not look up how this email signs in.'));
      if (routing.sso) return goToSso(routing.sso);
      const { status, json } = await postJson('/auth/email/start', { email });
      if (status === 200 && json.sso) return goToSso(json.sso as SsoRoute);
      if (status !== 202) return setError(refusal(json, 'Could not send a sign-in code.'));
      setStep('code');
    } catch {
      setError('The gateway could not be reached; check your connection and try again.');
    } finally {
      setBusy(false);
    }
  };

  const verify = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { status, json } = await postJson('/auth/email/verify', { email, code: code.trim() });
      if (status !== 200) return setError(refusal(json, 'The code was not accepted.'));
      // A fresh page load: every query and the event socket start with the new session.
      location.assign('/');
    } catch {
      setError('The gateway could not be reached; check your connection and try again.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="narrow sign-in">
      <h1>Sign in to orgway</h1>
      {step === 'email' ? (
        <form onSubmit={(e) => void start(e)}>
          <label htmlFor="sign-in-email">Work email</label>
          <input
            id="sign-in-email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          <p className="muted">If your organization uses single sign-on, you go to it; otherwise we email you a code.</p>
          <Button type="submit" busy={busy} className="primary">
            Continue
          </Button>
        </form>
      ) : step === 'code' ? (
        <form onSubmit={(e) => void verify(e)}>
          <p role="status">
            We sent a 6-digit code to <strong>{email}</strong>. It works once, for 10 minutes.
          </p>
          <label htmlFor="sign-in-code">Code</label>
          <input
            id="sign-in-code"
            autoFocus
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]*"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <div className="row">
            <Button type="submit" busy={busy} className="primary">
              Sign in
            </Button>
            <Button
              className="link"
              onClick={() => {
                setStep('email');
                setCode('');
                setError(null);
              }}
            >
              Use another email
            </Button>
          </div>
        </form>
      ) : (
        <p role="status">Taking you to your organization&apos;s single sign-on…</p>
      )}
      <ErrorAlert error={error} />
    </main>
  );
};
