// Placeholder entry so the CDK construct can be synthesized while the handler is being written.
export const handler = async (): Promise<void> => {
  throw new Error('not implemented yet');
};
