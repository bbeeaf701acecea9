/**
 * Where the agent finds its API server and credentials, in client-go's order of precedence:
 *   1. an explicit kubeconfig (`--kubeconfig FILE`),
 *   2. $KUBECONFIG (a `:`-separated list; the first file that sets a map entry or current-context wins),
 *   3. in-cluster: $KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT and the service-account files
 *      (token, ca.crt, namespace under /var/run/secrets/kubernetes.io/serviceaccount),
 *   4. ~/.kube/config.
 * An explicit endpoint (`--server URL` / $PETREL_API_SERVER) replaces the server URL of whichever source
 * won: in-cluster, the service VIP may only be reachable through the very routes this agent installs, so
 * an agent must be able to talk to an apiserver address directly.
 * From a kubeconfig we take the current (or named) context's cluster (server, certificate-authority[-data],
 * insecure-skip-tls-verify, tls-server-name) and user (token, tokenFile, client-certificate[-data],
 * client-key[-data]). Relative paths are relative to the kubeconfig file that named them. Exec and
 * auth-provider plugins are not supported and are reported as a configuration error, not ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Everything the transport needs to reach and authenticate to one API server. */
export interface ClusterConfig {
  server: string;
  /** PEM bundle of the CAs that sign the server certificate; absent = the system roots. */
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  /** Static bearer token. */
  token?: string;
  /** File to (re-)read the bearer token from (bound service-account tokens rotate). */
  tokenFile?: string;
  clientCert?: string;
  clientKey?: string;
  namespace?: string;
  /** Where this came from, for logs and errors: "in-cluster", or "kubeconfig FILE context NAME". */
  source: string;
}

export interface LoadOptions {
  /** --kubeconfig */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** --server: overrides the server URL of whatever source won. */
  server?: string;
  env?: NodeJS.ProcessEnv;
  /** Service-account directory (tests point it elsewhere). */
  serviceAccountDir?: string;
  home?: string;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Named { name: string; file: string; value: Obj }

interface Merged { clusters: Map<string, Named>; users: Map<string, Named>; contexts: Map<string, Named>; currentContext?: string; files: string[] }

function readKubeconfigFile(file: string): Obj {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('kubeconfig', `cannot read: ${(e as Error).message}`, file);
  }
  try {
    return (parseYaml(text) ?? {}) as Obj;
  } catch (e) {
    throw new ConfigError('kubeconfig', `not valid YAML: ${(e as Error).message}`, file);
  }
}

function merge(files: string[]): Merged {
  const m: Merged = { clusters: new Map(), users: new Map(), contexts: new Map(), files };
  for (const file of files) {
    const doc = readKubeconfigFile(file);
    const add = (list: unknown, into: Map<string, Named>, key: string) => {
      for (const e of (Array.isArray(list) ? list : []) as Obj[]) {
        if (e?.name && !into.has(e.name)) into.set(e.name, { name: e.name, file, value: e[key] ?? {} });
      }
    };
    add(doc.clusters, m.clusters, 'cluster');
    add(doc.users, m.users, 'user');
    add(doc.contexts, m.contexts, 'context');
    if (!m.currentContext && doc['current-context']) m.currentContext = doc['current-context'];
  }
  return m;
}

function readMaybe(file: string, baseFile: string, field: string): string {
  const p = isAbsolute(file) ? file : resolve(dirname(baseFile), file);
  try {
    return readFileSync(p, 'utf8');
  } catch (e) {
    throw new ConfigError(field, `cannot read ${p}: ${(e as Error).message}`, baseFile);
  }
}

function fromKubeconfig(files: string[], context: string | undefined): ClusterConfig {
  const m = merge(files);
  const first = files[0];
  const ctxName = context ?? m.currentContext;
  if (!ctxName) throw new ConfigError('current-context', 'no current-context and no --context given', first);
  const ctx = m.contexts.get(ctxName);
  if (!ctx) throw new ConfigError('contexts', `context "${ctxName}" not found`, first);
  const cl = m.clusters.get(ctx.value.cluster);
  if (!cl) throw new ConfigError(`contexts[${ctxName}].cluster`, `cluster "${ctx.value.cluster}" not found`, ctx.file);
  const c = cl.value;
  if (!c.server) throw new ConfigError(`clusters[${cl.name}].server`, 'missing', cl.file);
  const cfg: ClusterConfig = { server: String(c.server), source: `kubeconfig ${ctx.file} context ${ctxName}` };
  if (c['certificate-authority-data']) cfg.ca = Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8');
  else if (c['certificate-authority']) cfg.ca = readMaybe(c['certificate-authority'], cl.file, `clusters[${cl.name}].certificate-authority`);
  if (c['insecure-skip-tls-verify']) cfg.insecureSkipTlsVerify = true;
  if (c['tls-server-name']) cfg.tlsServerName = c['tls-server-name'];
  if (ctx.value.namespace) cfg.namespace = ctx.value.namespace;
  if (ctx.value.user) {
    const u = m.users.get(ctx.value.user);
    if (!u) throw new ConfigError(`contexts[${ctxName}].user`, `user "${ctx.value.user}" not found`, ctx.file);
    const v = u.value;
    if (v.exec || v['auth-provider']) {
      throw new ConfigError(`users[${u.name}]`, 'exec and auth-provider credential plugins are not supported; use a token, tokenFile or client certificate', u.file);
    }
    if (v.token) cfg.token = String(v.token);
    if (v.tokenFile) cfg.tokenFile = isAbsolute(v.tokenFile) ? v.tokenFile : resolve(dirname(u.file), v.tokenFile);
    if (v['client-certificate-data']) cfg.clientCert = Buffer.from(v['client-certificate-data'], 'base64').toString('utf8');
    else if (v['client-certificate']) cfg.clientCert = readMaybe(v['client-certificate'], u.file, `users[${u.name}].client-certificate`);
    if (v['client-key-data']) cfg.clientKey = Buffer.from(v['client-key-data'], 'base64').toString('utf8');
    else if (v['client-key']) cfg.clientKey = readMaybe(v['client-key'], u.file, `users[${u.name}].client-key`);
    if (!!cfg.clientCert !== !!cfg.clientKey) {
      throw new ConfigError(`users[${u.name}]`, 'client certificate and client key must be given together', u.file);
    }
  }
  return cfg;
}

function inCluster(env: NodeJS.ProcessEnv, dir: string): ClusterConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(join(dir, 'token'))) return undefined;
  const cfg: ClusterConfig = {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tokenFile: join(dir, 'token'),
    source: 'in-cluster',
  };
  if (existsSync(join(dir, 'ca.crt'))) cfg.ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  if (existsSync(join(dir, 'namespace'))) cfg.namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim();
  return cfg;
}

/** Resolves the cluster configuration; throws ConfigError (CLI exit 2) naming the file and field. */
export function loadClusterConfig(opts: LoadOptions = {}): ClusterConfig {
  const env = opts.env ?? process.env;
  let cfg: ClusterConfig | undefined;
  if (opts.kubeconfig) cfg = fromKubeconfig([opts.kubeconfig], opts.context);
  else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(':').filter((f) => f && existsSync(f));
    if (!files.length) throw new ConfigError('KUBECONFIG', `none of the files exist: ${env.KUBECONFIG}`);
    cfg = fromKubeconfig(files, opts.context);
  } else {
    cfg = inCluster(env, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
    if (!cfg) {
      const home = join(opts.home ?? homedir(), '.kube', 'config');
      if (!existsSync(home)) {
        throw new ConfigError('kubeconfig', 'no --kubeconfig, no $KUBECONFIG, not in a cluster (KUBERNETES_SERVICE_HOST/PORT and a service-account token) and no ~/.kube/config');
      }
      cfg = fromKubeconfig([home], opts.context);
    }
  }
  const override = opts.server ?? env.PETREL_API_SERVER;
  if (override) {
    try {
      new URL(override);
    } catch {
      throw new ConfigError('server', `not a URL: ${override}`);
    }
    cfg = { ...cfg, server: override, source: `${cfg.source} (server overridden)` };
  }
  return cfg;
}
