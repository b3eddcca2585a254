/** Namespace-aware DOM helpers over @xmldom/xmldom, for the SAML verification steps. */
import { DOMParser } from '@xmldom/xmldom';

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export const ELEMENT_NODE = 1;
export const TEXT_NODE = 3;
export const CDATA_SECTION_NODE = 4;
export const PROCESSING_INSTRUCTION_NODE = 7;
export const COMMENT_NODE = 8;
export const DOCUMENT_TYPE_NODE = 10;

export class XmlParseError extends Error {
  override readonly name = 'XmlParseError';
}

/**
 * Parses strictly: every xmldom warning or error is fatal (no recovery, no guessing
 * what a malformed document meant). DTDs are refused before this (step 3).
 */
export const parseXml = (xml: string): Document => {
  const fail = (level: string) => (msg: string) => {
    throw new XmlParseError(`${level}: ${String(msg).split('\n')[0]}`);
  };
  const parser = new DOMParser({ errorHandler: { warning: fail('warning'), error: fail('error'), fatalError: fail('fatal') } });
  const doc = parser.parseFromString(xml, 'text/xml');
  if (!doc || !doc.documentElement) throw new XmlParseError('no root element');
  return doc;
};

export const isElement = (n: Node | null | undefined): n is Element => !!n && n.nodeType === ELEMENT_NODE;

export const is = (el: Element | null | undefined, ns: string, local: string): boolean =>
  !!el && el.namespaceURI === ns && el.localName === local;

/** Direct child elements with this namespace and local name. */
export const children = (el: Element, ns: string, local: string): Element[] => {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (isElement(n) && n.namespaceURI === ns && n.localName === local) out.push(n);
  return out;
};

export const child = (el: Element, ns: string, local: string): Element | null => children(el, ns, local)[0] ?? null;

/** Every descendant element with this namespace and local name (document order). */
export const descendants = (root: Node, ns: string, local: string): Element[] => {
  const out: Element[] = [];
  const list = (root as Element | Document).getElementsByTagNameNS(ns, local);
  for (let i = 0; i < list.length; i++) out.push(list.item(i)!);
  return out;
};

/** Every node of a type in a subtree (iterative: deep documents cannot exhaust the stack). */
export const nodesOfType = (root: Node, type: number): Node[] => {
  const out: Node[] = [];
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.nodeType === type) out.push(n);
    for (let c = n.lastChild; c; c = c.previousSibling) stack.push(c);
  }
  return out;
};

/** Text of an element's text and CDATA descendants: all of it, never only the first node. */
export const text = (el: Element): string => el.textContent ?? '';

export const attr = (el: Element, name: string): string | null => (el.hasAttribute(name) ? el.getAttribute(name) : null);
