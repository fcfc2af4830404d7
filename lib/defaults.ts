/** Defaults of the construct, shared with the context parser and the docs (kept free of CDK imports). */
export const DEFAULTS = {
  allowlistName: 'rosa-trusted-ips',
  ocmCredentialsParameterName: '/allowlist-sync/ocm-credentials',
  metricsNamespace: 'AllowlistSync',
  scheduleMinutes: 15,
  retryAttempts: 3,
  memorySize: 256,
  timeoutSeconds: 60,
  logRetentionDays: 90,
} as const;
