/**
 * IAM's policy simulator behind aws-sdk-client-mock, played by the tool's own evaluator: `explicitDeny` when a Deny
 * applies to the request a SimulateCustomPolicy call describes, else `implicitDeny` (nothing in a deny policy
 * allows). `twist` changes an answer, to play a simulator that disagrees with the proof.
 */
import { SimulateCustomPolicyCommand, type SimulateCustomPolicyCommandInput } from '@aws-sdk/client-iam';
import { evaluateDeny, type RequestContext } from '../../lambda/allowlist/evaluate';
import { parsePolicy } from '../../lambda/allowlist/policy';
import type { IamMock } from './fake-iam';

/** The request context a SimulateCustomPolicy call describes, for one of its actions. */
export function requestOf(input: SimulateCustomPolicyCommandInput, action: string): RequestContext {
  const value = (name: string) => input.ContextEntries?.find((e) => e.ContextKeyName === name)?.ContextKeyValues?.[0];
  const via = value('aws:ViaAWSService');
  if (via === undefined) throw new Error('every probe must say aws:ViaAWSService');
  const optional = { sourceIp: value('aws:SourceIp'), sourceVpc: value('aws:SourceVpc'), sourceVpce: value('aws:SourceVpce'), kmsViaService: value('kms:ViaService') };
  return { action, viaAwsService: via === 'true', ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) };
}

/**
 * Answers SimulateCustomPolicy on `mock` as described above; `missing` names the context keys IAM would report
 * missing for a request (its `MissingContextValues`), as it does when a statement tests a key the call did not supply.
 */
export function simulatorAgrees(mock: IamMock, twist?: (request: RequestContext, decision: string) => string, missing?: (request: RequestContext) => string[]): void {
  mock.on(SimulateCustomPolicyCommand).callsFake((input: SimulateCustomPolicyCommandInput) => {
    const document = parsePolicy(input.PolicyInputList![0]);
    return {
      IsTruncated: false,
      EvaluationResults: input.ActionNames!.map((action) => {
        const request = requestOf(input, action);
        const decision = evaluateDeny(document, request).denied === true ? 'explicitDeny' : 'implicitDeny';
        const absent = missing?.(request) ?? [];
        return { EvalActionName: action, EvalResourceName: '*', EvalDecision: twist ? twist(request, decision) : decision, ...(absent.length > 0 ? { MissingContextValues: absent } : {}) };
      }),
    };
  });
}
