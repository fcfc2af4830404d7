/**
 * Figure: the Lambda bundle as the stack deploys it. NodejsFunction (lib/sync-function.ts) runs
 *   esbuild --bundle lambda/handler.ts --target=node24 --platform=node --outfile=index.js --minify --sourcemap
 *           --sources-content=false [--external:@aws-sdk/* when bundleAwsSDK is false]
 * (no --format, so esbuild's default for platform node: cjs; no --main-fields, so esbuild's node default
 * main,module). The same through esbuild's JS API, into bench/out/, with a metafile for the contributors.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { Row, bytes, passIf } from './stats';

export const PROJECT_ROOT = path.join(__dirname, '..');
export const OUT_DIR = path.join(PROJECT_ROOT, 'bench', 'out');
const LIMIT = 1_000_000;

export interface BundleVariant {
  /** Directory name under bench/out. */
  name: string;
  bundleAwsSdk: boolean;
  /** Not what the stack sets today: the proposed `bundling.mainFields`. */
  mainFields?: string[];
  /** Another handler.ts than lambda/handler.ts (an experimental copy of lambda/). */
  entry?: string;
}

export interface BuiltBundle {
  file: string;
  jsBytes: number;
  mapBytes: number;
  /** Bytes in the output per package (or per lambda/ folder), largest first. */
  contributors: [string, number][];
}

/** The stack's setting (lib/sync-function.ts: bundleAwsSDK false, the SDK comes from the nodejs24.x runtime). */
export const DEPLOYED: BundleVariant = { name: 'deployed', bundleAwsSdk: false };

/** Builds one variant exactly as NodejsFunction would, with the differences the variant names. */
export async function buildBundle(variant: BundleVariant): Promise<BuiltBundle> {
  const file = path.join(OUT_DIR, variant.name, 'index.js');
  const result = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [variant.entry ?? path.join(PROJECT_ROOT, 'lambda', 'handler.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    outfile: file,
    external: variant.bundleAwsSdk ? [] : ['@aws-sdk/*'],
    ...(variant.mainFields ? { mainFields: variant.mainFields } : {}),
    metafile: true,
    logLevel: 'error',
  });
  return { file, jsBytes: statSync(file).size, mapBytes: statSync(`${file}.map`).size, contributors: contributors(result.metafile, file) };
}

function contributors(metafile: Metafile, file: string): [string, number][] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`esbuild's metafile has no entry point output for ${file}`);
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.replace(/^(\.\.\/)+/, '').split('/').slice(0, 2).join('/');
    totals.set(pkg, (totals.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

function share(bundle: BuiltBundle, size: number): string {
  return `${((size / bundle.jsBytes) * 100).toFixed(0)}% of the bundle`;
}

/** The rows of this figure, and the deployed bundle for the figures that run it. */
export async function bundleSize(): Promise<{ rows: Row[]; deployed: BuiltBundle }> {
  const deployed = await buildBundle(DEPLOYED);
  const bundledSdk = await buildBundle({ name: 'bundled-sdk', bundleAwsSdk: true });
  const esm = await buildBundle({ name: 'main-fields-module', bundleAwsSdk: true, mainFields: ['module', 'main'] });
  const sdk = bundledSdk.contributors.filter(([name]) => /^@(aws-sdk|smithy)\//.test(name)).reduce((sum, [, size]) => sum + size, 0);
  const rows: Row[] = [
    {
      figure: 'Bundle size, as deployed (bundleAwsSDK: false)',
      measured: `${bytes(deployed.jsBytes)} (${deployed.jsBytes.toLocaleString('en')} B)`,
      spread: `+ ${bytes(deployed.mapBytes)} .map; the AWS SDK v3 comes from the nodejs24.x runtime`,
      target: '≤ 1 MB',
      result: passIf(deployed.jsBytes <= LIMIT),
      note: deployed.jsBytes > LIMIT ? `bundle over by ${bytes(deployed.jsBytes - LIMIT)}` : undefined,
    },
    ...deployed.contributors.slice(0, 5).map(([name, size]): Row => ({ figure: `  ${name}`, measured: bytes(size), spread: share(deployed, size) })),
    {
      figure: '  for comparison: SDK bundled (bundleAwsSDK: true)',
      measured: `${bytes(bundledSdk.jsBytes)} (${bundledSdk.jsBytes.toLocaleString('en')} B)`,
      spread: `the SDK adds ${bytes(sdk)} as CommonJS, not tree-shaken`,
    },
    {
      figure: '  for comparison: SDK bundled as ESM (mainFields module,main)',
      measured: bytes(esm.jsBytes),
      spread: 'tree-shaken',
    },
  ];
  return { rows, deployed };
}
