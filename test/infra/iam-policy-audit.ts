/**
 * Walks every IAM policy document of a synthesized template (AWS::IAM::Policy, AWS::IAM::ManagedPolicy
 * and inline role policies) and reports statements that are not least privilege: wildcard actions
 * (`*`, `service:*`, or any `*` in an action) and `Resource: "*"` unless the action is on the
 * allow-list below (AWS actions that do not support resource-level permissions).
 */
export const RESOURCE_STAR_ALLOWED: Readonly<Record<string, string>> = {
  'ecr:GetAuthorizationToken': 'account-wide ECR login token; ECR offers no resource-level permission for it',
  'ec2:CreateNetworkInterface': 'Lambda VPC networking (the loader); AWSLambdaVPCAccessExecutionRole grants it on *',
  'ec2:DescribeNetworkInterfaces': 'Describe* EC2 actions support only *',
  'ec2:DescribeSubnets': 'Describe* EC2 actions support only *',
  'ec2:DeleteNetworkInterface': 'Lambda VPC networking (the loader) on interfaces Lambda created',
  'ec2:AssignPrivateIpAddresses': 'Lambda VPC networking (the loader)',
  'ec2:UnassignPrivateIpAddresses': 'Lambda VPC networking (the loader)',
  'cloudwatch:GetMetricData': 'CloudWatch metric reads support no resource-level permission (the operations task\'s `status`)',
};

export interface PolicyFinding {
  policy: string;
  sid?: string;
  problem: string;
}

export interface PolicyStatementView {
  policy: string;
  sid?: string;
  effect: string;
  actions: string[];
  resources: unknown[];
}

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every statement of every identity policy in the template. */
export function identityStatements(template: Template): PolicyStatementView[] {
  const out: PolicyStatementView[] = [];
  const add = (policy: string, document: any) => {
    for (const st of asArray(document?.Statement)) {
      out.push({ policy, sid: st.Sid, effect: st.Effect, actions: asArray(st.Action ?? st.NotAction), resources: asArray(st.Resource ?? st.NotResource) });
    }
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') add(id, resource.Properties?.PolicyDocument);
    if (resource.Type === 'AWS::IAM::Role') for (const inline of asArray(resource.Properties?.Policies)) add(`${id}/${inline.PolicyName}`, inline.PolicyDocument);
  }
  return out;
}

export function auditIdentityPolicies(template: Template): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const st of identityStatements(template)) {
    if (st.effect !== 'Allow') continue;
    for (const action of st.actions) {
      if (typeof action !== 'string' || action.includes('*')) findings.push({ policy: st.policy, sid: st.sid, problem: `wildcard action ${String(action)}` });
    }
    for (const resource of st.resources) {
      if (resource !== '*') continue;
      const notAllowed = st.actions.filter((a) => !(a in RESOURCE_STAR_ALLOWED));
      if (notAllowed.length > 0) findings.push({ policy: st.policy, sid: st.sid, problem: `Resource "*" for ${notAllowed.join(', ')}` });
    }
  }
  return findings;
}

/** The Allow statements of the policies attached to one role (by the role's logical id prefix). */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementView[] {
  const policyIds = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && asArray(r.Properties?.Roles).some((role: any) => role?.Ref === roleLogicalId))
    .map(([id]) => id);
  return identityStatements(template).filter((st) => policyIds.includes(st.policy) || st.policy.startsWith(`${roleLogicalId}/`));
}

/** All actions a role may perform, sorted. */
export function actionsOfRole(template: Template, roleLogicalId: string): string[] {
  return [...new Set(statementsOfRole(template, roleLogicalId).flatMap((st) => st.actions))].sort();
}
