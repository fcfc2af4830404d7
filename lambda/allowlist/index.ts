export * from './cidr';
export * from './policy';
export * from './plan';
