// The signing agent's packages, offered to citizens by the sign-in page: whatever
// `npm run agent:package` left in AGENT_DOWNLOADS_DIR, under names it writes. The folder is read
// on each listing, so packages built after the start are offered too.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';

export const agentDownloadsPath = '/downloads/agent';

export type AgentPlatform = 'linux-deb';

export interface AgentDownload {
  platform: AgentPlatform;
  name: string;
  /** Same-origin path of the file. */
  url: string;
  version: string;
  bytes: number;
  sha256: string;
}

// The names agent/package/ writes; nothing else in the folder is served.
const patterns: Array<{ platform: AgentPlatform; name: RegExp; contentType: string }> = [
  { platform: 'linux-deb', name: /^yagona-agent_(\d+\.\d+\.\d+)_amd64\.deb$/, contentType: 'application/vnd.debian.binary-package' },
];

type Listed = AgentDownload & { path: string; contentType: string };

export async function listAgentDownloads(dir: string): Promise<Listed[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    // No folder: nothing built yet (a development start), so nothing offered.
    return [];
  }
  const found: Listed[] = [];
  for (const name of names) {
    for (const pattern of patterns) {
      const version = pattern.name.exec(name)?.[1];
      if (version === undefined) continue;
      const path = join(dir, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat === undefined || !stat.isFile()) continue;
      found.push({
        platform: pattern.platform, name, url: `${agentDownloadsPath}/${name}`, version, bytes: stat.size,
        sha256: await sha256Of(path, stat), path, contentType: pattern.contentType,
      });
    }
  }
  return found.sort((a, b) => compareVersions(b.version, a.version));
}

const digests = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/** A package's SHA-256, computed once per file version (a package is tens of MiB), streamed. */
async function sha256Of(path: string, stat: Stats): Promise<string> {
  const known = digests.get(path);
  if (known !== undefined && known.size === stat.size && known.mtimeMs === stat.mtimeMs) return known.sha256;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  digests.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, sha256 });
  return sha256;
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < 3; i += 1) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return 0;
}

/**
 * GET /downloads/agent: the packages as JSON (newest first); GET /downloads/agent/<name>: one
 * of them, as an attachment.
 */
export function agentDownloadsRouter(dir: string): Router {
  const router = Router();
  router.get('/downloads/agent', async (_req, res) => {
    const downloads = (await listAgentDownloads(dir)).map(({ path: _path, contentType: _type, ...download }) => download);
    res.set('Cache-Control', 'no-cache').json({ downloads });
  });
  router.get('/downloads/agent/:name', async (req, res, next) => {
    const found = (await listAgentDownloads(dir)).find((download) => download.name === req.params.name);
    if (found === undefined) {
      next();
      return;
    }
    // attachment() would set the type from the extension (x-debian-package); IANA's name is set after it.
    res.set('Cache-Control', 'public, max-age=3600').attachment(found.name).type(found.contentType).set('Content-Length', String(found.bytes));
    createReadStream(found.path).on('error', next).pipe(res);
  });
  return router;
}
