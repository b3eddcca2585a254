/**
 * <orgway-org-switcher>: the organization switcher for a product's own pages, with no framework.
 *
 *   <script type="module" src="https://id.example.com/ui/org-switcher.js"></script>
 *   <orgway-org-switcher gateway-url="https://id.example.com"></orgway-org-switcher>
 *
 * Attributes: `gateway-url` (default: where this script was loaded from), `token` (a bearer
 * session or API token, for pages that cannot send the session cookie). It speaks GraphQL over
 * graphql-ws, which needs no CORS, and fires `orgway-organization-change` (detail:
 * { organizationId, organizationName, role, accessToken }) after the user switches.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { SwitcherMembershipsDocument, SwitcherSwitchDocument, SwitcherViewerDocument, type SwitcherViewerQuery } from '../src/gql/graphql';

export interface OrganizationChangeDetail {
  organizationId: string;
  organizationName: string;
  role: string;
  accessToken: string;
}

const SCRIPT_ORIGIN = new URL(import.meta.url).origin;

const initials = (name: string) =>
  name
    .split(/[\s_-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('') || '?';

const reasonFor = (m: { role: string; status: string }): string | null =>
  m.status === 'DISABLED' ? 'Membership disabled' : m.role === 'NO_ACCESS' ? 'No access' : null;

const STYLE = `
:host { display: inline-block; position: relative; font: inherit; color: #1b1f24; }
button { font: inherit; color: inherit; background: none; border: 1px solid transparent; border-radius: 6px; padding: 0.25rem 0.5rem; cursor: pointer; display: inline-flex; align-items: center; gap: 0.5rem; }
button:focus-visible { outline: 3px solid #f0b400; }
.initials { display: inline-flex; align-items: center; justify-content: center; width: 1.8rem; height: 1.8rem; border-radius: 6px; background: #2b4fd1; color: #fff; font-weight: 700; font-size: 0.8rem; }
.menu { position: absolute; z-index: 1000; top: 100%; left: 0; min-width: 16rem; background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; box-shadow: 0 6px 24px rgb(0 0 0 / 0.15); padding: 0.4rem; margin: 0; list-style: none; }
.menu button { width: 100%; text-align: left; }
.menu button[disabled] { cursor: default; color: #5d6673; background: #f1f2f4; }
.menu button[disabled] .initials { background: #707a87; }
.reason { font-size: 0.8rem; color: #505a66; }
.error { color: #7d1111; font-size: 0.85rem; padding: 0.25rem 0.5rem; }
a { color: #2b4fd1; }
`;

export class OrgwayOrgSwitcher extends HTMLElement {
  static observedAttributes = ['gateway-url', 'token'];

  private client: Client | null = null;
  private viewer: SwitcherViewerQuery['viewer'] | null = null;
  private error: string | null = null;
  private signedOut = false;
  private open = false;
  private stopEvents: (() => void) | null = null;
  private readonly root = this.attachShadow({ mode: 'open' });

  get gatewayUrl(): string {
    return (this.getAttribute('gateway-url') || SCRIPT_ORIGIN).replace(/\/+$/, '');
  }

  connectedCallback() {
    document.addEventListener('click', this.closeOnOutsideClick);
    document.addEventListener('keydown', this.closeOnEscape);
    this.connect();
  }

  disconnectedCallback() {
    document.removeEventListener('click', this.closeOnOutsideClick);
    document.removeEventListener('keydown', this.closeOnEscape);
    this.disconnect();
  }

  private readonly closeOnOutsideClick = (event: MouseEvent) => {
    if (this.open && !event.composedPath().includes(this)) this.setOpen(false);
  };

  private readonly closeOnEscape = (event: KeyboardEvent) => {
    if (this.open && event.key === 'Escape') this.setOpen(false);
  };

  private setOpen(open: boolean) {
    this.open = open;
    this.render();
  }

  attributeChangedCallback(_name: string, previous: string | null, next: string | null) {
    if (previous !== next && this.isConnected) {
      this.disconnect();
      this.connect();
    }
  }

  private connect() {
    const url = new URL('/graphql', this.gatewayUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = this.getAttribute('token');
    this.client = createClient({
      url: url.href,
      lazy: true,
      retryAttempts: 10,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      shouldRetry: (event) => !(event instanceof CloseEvent && (event.code === 4401 || event.code === 4403)),
      on: {
        closed: (event) => {
          if (event instanceof CloseEvent && event.code === 4401) {
            this.signedOut = true;
            this.render();
          }
        },
      },
    });
    this.stopEvents = this.client.subscribe(
      { query: print(SwitcherMembershipsDocument) },
      { next: () => void this.load(), error: () => undefined, complete: () => undefined },
    );
    void this.load();
  }

  private disconnect() {
    this.stopEvents?.();
    void this.client?.dispose();
    this.client = null;
  }

  /** One operation over the element's socket. */
  private execute<TResult, TVariables extends Record<string, unknown>>(document: TypedDocumentNode<TResult, TVariables>, variables?: TVariables): Promise<TResult> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      let result: TResult | null = null;
      client.subscribe<TResult>(
        { query: print(document), ...(variables ? { variables } : {}) },
        {
          next: (value) => {
            if (value.errors?.length) reject(new Error(value.errors.map((e) => e.message).join(' ')));
            else result = value.data as TResult;
          },
          error: (error) => reject(error instanceof Error ? error : new Error(error instanceof CloseEvent ? error.reason || 'The gateway closed the connection.' : 'The gateway could not be reached.')),
          complete: () => (result ? resolve(result) : undefined),
        },
      );
    });
  }

  private async load() {
    try {
      this.viewer = (await this.execute(SwitcherViewerDocument)).viewer;
      this.error = null;
    } catch (error) {
      if (!this.signedOut) this.error = (error as Error).message;
    }
    this.render();
  }

  private async switchTo(organizationId: string) {
    try {
      const { switchOrganization: s } = await this.execute(SwitcherSwitchDocument, { organizationId });
      this.open = false;
      await this.load();
      const detail: OrganizationChangeDetail = {
        organizationId: s.organization.id,
        organizationName: s.organization.name,
        role: s.membership.role,
        accessToken: s.accessToken.token,
      };
      this.dispatchEvent(new CustomEvent<OrganizationChangeDetail>('orgway-organization-change', { detail, bubbles: true, composed: true }));
    } catch (error) {
      this.error = (error as Error).message;
      this.render();
    }
  }

  private render() {
    const root = this.root;
    root.replaceChildren();
    const style = document.createElement('style');
    style.textContent = STYLE;
    root.append(style);
    if (this.signedOut) {
      const link = document.createElement('a');
      link.href = `${this.gatewayUrl}/`;
      link.textContent = 'Sign in';
      root.append(link);
      return;
    }
    const current = this.viewer?.currentOrganization;
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.setAttribute('aria-haspopup', 'true');
    toggle.setAttribute('aria-expanded', String(this.open));
    toggle.setAttribute('part', 'button');
    const badge = document.createElement('span');
    badge.className = 'initials';
    badge.setAttribute('aria-hidden', 'true');
    badge.textContent = current ? initials(current.name) : '–';
    const label = document.createElement('span');
    label.className = 'current';
    label.textContent = current?.name ?? (this.viewer ? 'Choose an organization' : 'Loading…');
    toggle.append(badge, label);
    toggle.addEventListener('click', () => this.setOpen(!this.open));
    root.append(toggle);
    if (this.error) {
      const error = document.createElement('div');
      error.className = 'error';
      error.setAttribute('role', 'alert');
      error.textContent = this.error;
      root.append(error);
    }
    if (!this.open || !this.viewer) return;
    const menu = document.createElement('ul');
    menu.className = 'menu';
    menu.setAttribute('aria-label', 'Organizations');
    for (const { node, membership } of this.viewer.organizations.edges) {
      const reason = reasonFor(membership);
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.disabled = reason !== null;
      if (node.id === current?.id) button.setAttribute('aria-current', 'true');
      const b = document.createElement('span');
      b.className = 'initials';
      b.setAttribute('aria-hidden', 'true');
      b.textContent = initials(node.name);
      const text = document.createElement('span');
      text.textContent = node.name;
      button.append(b, text);
      if (reason) {
        const why = document.createElement('span');
        why.className = 'reason';
        why.textContent = `(${reason})`;
        button.append(why);
      }
      button.addEventListener('click', () => void this.switchTo(node.id));
      item.append(button);
      menu.append(item);
    }
    root.append(menu);
  }
}

if (!customElements.get('orgway-org-switcher')) customElements.define('orgway-org-switcher', OrgwayOrgSwitcher);
