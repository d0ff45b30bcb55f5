/**
 * Artifact calls: listing, downloading and uploading a directory of files, through the server's
 * artifact proxy (`/api/2.0/mlflow-artifacts/artifacts`, docs/mlflow-rest-contract.md, "Downloading artifacts") or, for run artifacts in stores
 * the service cannot read itself, through the tracking server (artifacts/list + /get-artifact, docs/mlflow-rest-contract.md, "Downloading artifacts").
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RegistryError, isRegistryError, withMessage } from './errors.js';
import { Empty, type MlflowRest } from './rest.js';
import * as S from './schemas.js';
import { joinArtifactPath } from './uri.js';

/**
 * Where a directory of artifacts can be read. `proxy`: the server's artifact proxy
 * (`<api>/<path>`, listing with `?path=`). `run`: a run's artifacts read by the tracking server itself
 * (artifacts/list + /get-artifact), the fallback for stores the service cannot reach (s3:// without
 * credentials here).
 */
export type ArtifactLocation =
  | { readonly kind: 'proxy'; readonly api: string; readonly path: string }
  | { readonly kind: 'run'; readonly runId: string; readonly path: string };

export function createArtifactCalls(rest: MlflowRest) {
  const { url, call, get, transport } = rest;
  const calls = {
    /** Maps an artifact URI to where we can read it; undefined for stores only the server can read. */
    artifactLocation(artifactUri: string): ArtifactLocation | undefined {
      return proxyLocation(rest.base, artifactUri);
    },

    /**
     * Lists one directory level under `location`/`subPath`. Returned paths are relative to `location`
     * (e.g. `sub/b.txt`), whichever API served them, and checked against traversal.
     */
    async listArtifacts(location: ArtifactLocation, subPath = ''): Promise<S.FileInfo[]> {
      const dir = joinArtifactPath(location.path, subPath);
      let files: S.FileInfo[];
      if (location.kind === 'proxy') {
        const reply = await call(S.ProxyListReply, { method: 'GET', url: withQuery(location.api, { path: dir || undefined }) });
        files = reply.files.map((f) => ({ ...f, path: joinArtifactPath(subPath, checkName(f.path)) }));
      } else {
        files = [];
        let pageToken: string | undefined;
        do {
          const reply = await get(S.RunListReply, 'artifacts/list', {
            run_id: location.runId,
            path: dir || undefined,
            page_token: pageToken,
          });
          for (const f of reply.files) {
            // why: this API answers run-relative paths including the listed directory (docs/mlflow-rest-contract.md, "Downloading artifacts").
            const rel = location.path ? stripPrefix(f.path, location.path) : f.path;
            files.push({ ...f, path: joinArtifactPath(rel) });
          }
          pageToken = reply.next_page_token || undefined;
        } while (pageToken);
      }
      // why code-unit order, not localeCompare: the same listing sorts the same on every machine, without ICU.
      return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },

    /** Downloads one file to `destFile` (streamed, retried from the start); returns its size. */
    async downloadArtifact(location: ArtifactLocation, relPath: string, destFile: string): Promise<number> {
      const file = joinArtifactPath(location.path, relPath);
      const target =
        location.kind === 'proxy'
          ? new URL(`${location.api}/${file.split('/').map(encodeURIComponent).join('/')}`)
          : url('/get-artifact', { run_id: location.runId, path: file });
      try {
        return await transport.download(target, destFile);
      } catch (err) {
        // why: a missing file comes back as a 500 without JSON (docs/mlflow-rest-contract.md, "Downloading artifacts"), which looks like an outage
        // and is retried like one; the message names the file either way.
        throw isRegistryError(err) ? withMessage(err, err.code, `cannot download artifact ${file}: ${err.message}`) : err;
      }
    },

    /**
     * Downloads everything under `location`/`subPath` into `destDir` (created as needed), recursing into
     * directories. Each file's size is checked against the listing. Not atomic by itself: callers that
     * need all-or-nothing download into a staging directory (download.ts does).
     */
    async downloadArtifacts(location: ArtifactLocation, destDir: string, subPath = ''): Promise<{ path: string; size: number }[]> {
      const root = joinArtifactPath(subPath);
      const out: { path: string; size: number }[] = [];
      const walk = async (dir: string) => {
        for (const entry of await calls.listArtifacts(location, dir)) {
          const rel = root ? entry.path.slice(root.length + 1) : entry.path;
          const local = join(destDir, ...rel.split('/'));
          if (entry.is_dir) {
            await mkdir(local, { recursive: true });
            await walk(entry.path);
            continue;
          }
          await mkdir(dirname(local), { recursive: true });
          const size = await calls.downloadArtifact(location, entry.path, local);
          // why: a connection that closes early can look like a complete body; the listing's size catches it.
          if (entry.file_size !== undefined && size !== entry.file_size) {
            throw new RegistryError('bad_response', `artifact ${entry.path}: got ${size} bytes, the listing says ${entry.file_size}`);
          }
          out.push({ path: rel, size });
        }
      };
      await walk(root);
      return out;
    },

    /** PUTs one file through the artifact proxy (training CLI). */
    async uploadArtifact(location: ArtifactLocation, relPath: string, bytes: Uint8Array, contentType?: string): Promise<void> {
      if (location.kind !== 'proxy')
        throw new RegistryError('rejected', 'uploads need the artifact proxy (an mlflow-artifacts: artifact URI)');
      const file = joinArtifactPath(location.path, relPath);
      const target = new URL(`${location.api}/${file.split('/').map(encodeURIComponent).join('/')}`);
      await call(Empty, { method: 'PUT', url: target, body: bytes, contentType: contentType ?? guessContentType(relPath) });
    },

    /** Uploads every file under `localDir` to `location`/`subPath` (e.g. a whole MLflow Model directory). */
    async uploadArtifactDir(location: ArtifactLocation, localDir: string, subPath = ''): Promise<string[]> {
      const uploaded: string[] = [];
      for (const entry of await readdir(localDir, { withFileTypes: true })) {
        const rel = joinArtifactPath(subPath, entry.name);
        if (entry.isDirectory()) uploaded.push(...(await calls.uploadArtifactDir(location, join(localDir, entry.name), rel)));
        else if (entry.isFile()) {
          await calls.uploadArtifact(location, rel, await readFile(join(localDir, entry.name)));
          uploaded.push(rel);
        }
      }
      return uploaded;
    },
  };
  return calls;
}

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

/** mlflow-artifacts:[//host]/p and http(s)://…/mlflow-artifacts/artifacts/p → the proxy (docs/mlflow-rest-contract.md, "Downloading artifacts"). */
function proxyLocation(tracking: URL, artifactUri: string): ArtifactLocation | undefined {
  if (artifactUri.startsWith('mlflow-artifacts:')) {
    const u = new URL(artifactUri);
    const api = new URL(tracking);
    // why: a netloc in the artifact URI replaces the tracking host (MLflow's resolve_uri).
    if (u.host) api.host = u.host;
    api.pathname = `${api.pathname}${PROXY}`.replace(/\/{2,}/g, '/');
    return { kind: 'proxy', api: api.toString().replace(/\/$/, ''), path: joinArtifactPath(decodeURIComponent(u.pathname)) };
  }
  if (/^https?:\/\//.test(artifactUri)) {
    const at = artifactUri.indexOf('/mlflow-artifacts/artifacts');
    if (at < 0) return undefined;
    const end = at + '/mlflow-artifacts/artifacts'.length;
    return {
      kind: 'proxy',
      api: artifactUri.slice(0, end),
      path: joinArtifactPath(decodeURIComponent(artifactUri.slice(end).split('?')[0])),
    };
  }
  return undefined;
}

function withQuery(api: string, query: Record<string, string | undefined>): URL {
  const u = new URL(api);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
  return u;
}

/** A name in a proxy listing must be one path segment. */
function checkName(name: string): string {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\\')) {
    throw new RegistryError('bad_response', `artifact listing holds an unsafe name ${JSON.stringify(name)}`);
  }
  return name;
}

function stripPrefix(path: string, prefix: string): string {
  const p = prefix.replace(/\/$/, '');
  if (path === p || !path.startsWith(`${p}/`))
    throw new RegistryError('bad_response', `artifact ${JSON.stringify(path)} is not under ${p}`);
  return path.slice(p.length + 1);
}

function guessContentType(path: string): string {
  if (/(^|\/)(MLmodel|[^/]+\.(txt|ya?ml))$/.test(path)) return 'text/plain';
  if (path.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}
