/**
 * An ARM-shaped failure: the world throws these and the server turns them into
 * `{"error":{"code","message"}}` bodies with the right status, as ARM does.
 */
export class ArmEmulatorError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ArmEmulatorError';
  }

  toBody(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function notFound(code: 'ResourceNotFound' | 'NotFound' | 'ResourceGroupNotFound' | 'SubscriptionNotFound', message: string): ArmEmulatorError {
  return new ArmEmulatorError(404, code, message);
}
