/**
 * True for an endpoint on this machine (an emulator such as kinesalite, s3rver or dynalite). Only
 * such endpoints get placeholder credentials; every other endpoint uses the SDK's credential chain.
 */
export function isLoopbackEndpoint(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
