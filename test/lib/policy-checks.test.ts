import { parseContext } from '../../lib/context';
import { acknowledgements, CfnJson, resourcesOfType, Synth, synth } from './support';

// The stack's side of POLICY_CHECKS: exactly two actions on Resource "*" (neither has a resource type), one cdk-nag
// acknowledgement with its reason, the mode in the function's environment, nothing granted when the checks are off.

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** Every statement of every identity policy in the template (the function's role's policies among them). */
function statements(s: Synth): Statement[] {
  return Object.values(resourcesOfType(s, 'AWS::IAM::Policy')).flatMap((p: CfnJson) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (st: Statement): string[] => (Array.isArray(st.Action) ? st.Action : [st.Action]);
const onEverything = (s: Synth): Statement[] => statements(s).filter((st) => st.Resource === '*' || (Array.isArray(st.Resource) && st.Resource.includes('*')));

function functionEnvironment(s: Synth): Record<string, unknown> {
  const fn = Object.values(resourcesOfType(s, 'AWS::Lambda::Function')).find((f) => (f.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POLICY_ARN);
  return (fn?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
}

describe('policy checks in the stack', () => {
  const byDefault = synth();
  const off = synth({ policyChecks: 'off' });
  const required = synth({ policyChecks: 'required' });

  test('by default: one statement on Resource "*", with exactly the two check actions, Allow, no other action', () => {
    expect(onEverything(byDefault)).toEqual([{ Sid: 'CheckPolicyDocuments', Effect: 'Allow', Action: ['iam:SimulateCustomPolicy', 'access-analyzer:ValidatePolicy'], Resource: '*' }]);
  });

  test('no other new power: the statements are those of POLICY_CHECKS=off plus that one', () => {
    const extra = statements(byDefault).filter((st) => !statements(off).some((o) => JSON.stringify(o) === JSON.stringify(st)));
    expect(extra.map((st) => [st.Sid, actionsOf(st)])).toEqual([['CheckPolicyDocuments', ['iam:SimulateCustomPolicy', 'access-analyzer:ValidatePolicy']]]);
    expect(statements(required).length).toBe(statements(byDefault).length);
  });

  test('off: neither action is granted anywhere, and nothing is on Resource "*"', () => {
    const all = statements(off).flatMap(actionsOf);
    expect(all).not.toContain('iam:SimulateCustomPolicy');
    expect(all).not.toContain('access-analyzer:ValidatePolicy');
    expect(onEverything(off)).toEqual([]);
  });

  test('the mode reaches the function only when set (the function defaults to auto)', () => {
    expect(functionEnvironment(byDefault).POLICY_CHECKS).toBeUndefined();
    expect(functionEnvironment(required).POLICY_CHECKS).toBe('required');
    expect(functionEnvironment(off).POLICY_CHECKS).toBe('off');
  });

  test("one cdk-nag acknowledgement for the Resource '*' finding, saying why, and none when off", () => {
    const acks = acknowledgements(byDefault.stack).filter((a) => a.id === 'AwsSolutions-IAM5[Resource::*]');
    expect(acks).toHaveLength(1);
    expect(acks[0].path).toMatch(/Role\/DefaultPolicy$/);
    expect(acks[0].reason).toEqual(expect.stringContaining('iam:SimulateCustomPolicy and access-analyzer:ValidatePolicy support no resource-level permissions'));
    expect(acks[0].reason).toEqual(expect.stringContaining('change nothing'));
    expect(acknowledgements(off.stack).filter((a) => a.id === 'AwsSolutions-IAM5[Resource::*]')).toEqual([]);
  });
});

describe('the policyChecks context key', () => {
  const parse = (context: Record<string, unknown>) => parseContext((key) => context[key]);

  test.each(['auto', 'off', 'required'])('%s becomes the prop', (mode) => {
    expect(parse({ policyChecks: mode }).sync.policyChecks).toBe(mode);
  });

  test('unset leaves the prop unset', () => {
    expect(parse({}).sync).not.toHaveProperty('policyChecks');
  });

  test('anything else is refused, naming the key and the value', () => {
    expect(() => parse({ policyChecks: 'sometimes' })).toThrow('Invalid context "policyChecks": "sometimes" is not one of auto, off, required');
    expect(() => parse({ policyChecks: true })).toThrow('Invalid context "policyChecks": expected a string, got true');
  });
});
