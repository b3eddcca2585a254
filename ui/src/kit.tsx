// Small building blocks shared by the pages: progress, errors in words, copy buttons.
import { type ButtonHTMLAttributes, type ReactNode, useId, useState } from 'react';
import type { CombinedError } from 'urql';
import { errorMessage } from './errors';

export const Button = ({ busy, children, disabled, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean }) => (
  <button type="button" {...rest} disabled={disabled || busy} aria-busy={busy || undefined}>
    {busy ? <span className="spinner" aria-hidden="true" /> : null}
    {children}
  </button>
);

export const ErrorAlert = ({ error, prefix }: { error: CombinedError | Error | string | null | undefined; prefix?: string }) => {
  const message = errorMessage(error);
  if (!message) return null;
  return (
    <p role="alert" className="alert error">
      {prefix ? <strong>{prefix} </strong> : null}
      {message}
    </p>
  );
};

export const Notice = ({ children }: { children: ReactNode }) => (
  <p role="status" className="alert ok">
    {children}
  </p>
);

/** A read-only value with a copy button (URLs to give an IdP, secrets shown once). */
export const CopyField = ({ label, value }: { label: string; value: string }) => {
  const id = useId();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      // Clipboard access needs a secure context; selecting the text lets the user copy it.
      (document.getElementById(id) as HTMLInputElement | null)?.select();
    }
  };
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="row">
        <input id={id} readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
        <Button onClick={() => void copy()} aria-label={`${copied ? 'Copied' : 'Copy'} ${label}`}>
          {copied ? 'Copied' : 'Copy'}
        </Button>
      </div>
    </div>
  );
};

export const initials = (name: string): string =>
  name
    .split(/[\s_-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('') || '?';

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');
