// The key a client address is counted under by the rate limits (docs/configuration.md "Rate limits").
import { isIPv6 } from 'node:net';

/**
 * IPv4 (also IPv4-mapped IPv6) as is; other IPv6 addresses by their /56, the smallest prefix
 * a provider hands one customer (RIPE-690 §4.2), so one client cannot rotate through its own.
 */
export function addressKey(ip: string | undefined): string {
  if (ip === undefined) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4?.[1] !== undefined) return v4[1];
  if (!isIPv6(ip)) return ip;
  // A dotted IPv4 tail (RFC 4291 §2.2 form 3) stands for the last two groups.
  const [head = '', tail = ''] = ip.replace(/:\d+\.\d+\.\d+\.\d+$/, ':0:0').split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  const prefix = groups.slice(0, 4).map((group) => parseInt(group, 16));
  prefix[3] = (prefix[3] ?? 0) & 0xff00;
  return `${prefix.map((group) => group.toString(16)).join(':')}::/56`;
}
