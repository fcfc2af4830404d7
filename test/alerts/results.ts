import { normalize, plan, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist';
import type { SyncResult } from '../../lambda/sync';

export const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';

function entries(values: readonly string[]) {
  return normalize(values.map((value) => ({ value, source: 'ocm' })));
}

/** A real plan from `current` entries (at `versionId`) to `desired` entries, wrapped as a SyncResult. */
export function result(status: SyncResult['status'], current: readonly string[], desired: readonly string[], extra: Partial<SyncResult> = {}, versionId = 'v3'): SyncResult {
  const p = plan({ document: encodeURIComponent(serializePolicy(renderDenyPolicy(current))), versionId }, entries(desired));
  return {
    status,
    plan: p,
    target: `iam:${ARN}`,
    sources: [{ source: 'ocm', entries: desired.length, skipped: 0 }],
    warnings: [],
    approved: false,
    ...extra,
  };
}

const BASE = ['3.20.58.12/32', '3.21.130.171/32', '52.15.23.0/26', '3.132.100.80/28'];

/** +2 -1, written as v4 over v3. */
export const updatedResult = (): SyncResult =>
  result('updated', BASE, ['3.20.58.12/32', '3.21.130.171/32', '52.15.23.0/26', '18.222.33.44/32', '2600:1f18:24d7:1000::/56'], { versionId: 'v4', previousVersionId: 'v3' });

/** Refused for mass removal (approvable). `versionId` varies the plan id. */
export const refusedResult = (versionId = 'v3'): SyncResult => result('refused', BASE, ['3.20.58.12/32'], {}, versionId);

/** Refused because the list is empty (not approvable). */
export const emptyRefusedResult = (): SyncResult => result('refused', BASE, []);

export const unchangedResult = (): SyncResult => result('unchanged', BASE, BASE);
