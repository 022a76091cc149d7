/**
 * The string formats protoc-gen-validate knows, with the meaning PGV's C++ code gives them
 * (validate/validate.h of bufbuild/protoc-gen-validate: `IsHostname`, `IsIp*` on inet_pton,
 * `Utf8Len`), which is what Envoy runs. Where C++ has no implementation (uri, uri_ref) the Go
 * generator's meaning is used. The two well-known header regexes are PGV's documented patterns
 * (module/checker.go), written out here; RE2's `FullMatch` semantics become an anchored RegExp.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Length in Unicode code points, as PGV's `Utf8Len` counts a UTF-8 string. */
export function utf8Length(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

export function byteLength(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

export function isIpv4(value: string): boolean {
  return isIPv4(value);
}

/** inet_pton(AF_INET6) accepts no zone suffix (`%eth0`); Node's isIPv6 does. */
export function isIpv6(value: string): boolean {
  return !value.includes('%') && isIPv6(value);
}

export function isIp(value: string): boolean {
  return isIpv4(value) || isIpv6(value);
}

/** PGV C++ `IsHostname`: at most 253 characters; dot-separated labels of 1–63 letters, digits and inner hyphens. A trailing dot leaves an empty label. */
export function isHostname(value: string): boolean {
  if (value.length > 253) return false;
  return value.split('.').every((label) => label.length >= 1 && label.length <= 63 && /^[A-Za-z0-9-]+$/.test(label) && !label.startsWith('-') && !label.endsWith('-'));
}

/** `address`: a hostname or an IP. */
export function isAddress(value: string): boolean {
  return isHostname(value) || isIp(value);
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** What Go's url.Parse refuses: control characters and spaces, and `%` not followed by two hex digits. */
function uriProblem(value: string): string | undefined {
  if (/[\x00-\x20\x7f]/.test(value)) return 'contains a control character or a space';
  if (/%(?![0-9A-Fa-f]{2})/.test(value)) return 'has an invalid percent escape';
  return undefined;
}

/** `uri`: parses as a URI and is absolute (has a scheme). */
export function isAbsoluteUri(value: string): boolean {
  return uriProblem(value) === undefined && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value);
}

/** `uri_ref`: parses as a URI reference (absolute or relative). */
export function isUriReference(value: string): boolean {
  return uriProblem(value) === undefined;
}

/**
 * PGV's HTTP_HEADER_NAME pattern is `^:?[0-9a-zA-Z!#$%&'*+-.^_|~\x60]+$`; its `+-.` is a range
 * (`+`, `,`, `-`, `.`), spelt out below.
 */
const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+,\-.^_|~`]+$/;
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
/** `strict: false` on either header regex: only NUL, LF and CR are refused. */
const HEADER_STRING = /^[^\u0000\u000A\u000D]*$/;

export type KnownRegex = 'HTTP_HEADER_NAME' | 'HTTP_HEADER_VALUE';

export function knownRegex(name: string, strict: boolean): RegExp | undefined {
  if (name === 'HTTP_HEADER_NAME') return strict ? HEADER_NAME_STRICT : HEADER_STRING;
  if (name === 'HTTP_HEADER_VALUE') return strict ? HEADER_VALUE_STRICT : HEADER_STRING;
  return undefined;
}

const compiled = new Map<string, RegExp>();

/**
 * An RE2 pattern as a RegExp with FullMatch semantics. Patterns JavaScript cannot read (RE2-only
 * syntax such as inline flags) throw: the caller reports the rule as unsupported instead of
 * skipping it.
 */
export function fullMatchRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    try {
      re = new RegExp(`^(?:${pattern})$`, 'u');
    } catch {
      re = new RegExp(`^(?:${pattern})$`);
    }
    compiled.set(pattern, re);
  }
  return re;
}
