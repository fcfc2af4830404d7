export * from './alerter';
export * from './messages';
export * from './publisher';
export * from './state';
export * from './fleet-messages';
