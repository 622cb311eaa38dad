// The port through which the pipeline calls a model. Only `sagemaker-endpoint.ts` knows it is
// SageMaker behind it; everything else (and every test double) depends on these types alone.
// Implementations throw DynabError with MODEL_ERROR, ENDPOINT_VALIDATION, ENDPOINT_THROTTLED or
// ENDPOINT_UNAVAILABLE, so callers decide retry vs dead-letter from `retriable`.

export interface InvokeInput {
  readonly endpointName: string;
  /** Production variant to force; null lets the endpoint split traffic by its weights. */
  readonly targetVariant: string | null;
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly accept?: string;
  readonly inferenceId?: string;
  readonly customAttributes?: string;
}

export interface InvokeOutput {
  /** Variant that actually served the call, as the endpoint reports it. */
  readonly invokedVariant: string | null;
  readonly body: Uint8Array;
  readonly contentType: string;
  /** Custom attributes returned by the model, when it returned any. */
  readonly customAttributes?: string;
}

export interface ModelEndpoint {
  invoke(input: InvokeInput, signal?: AbortSignal): Promise<InvokeOutput>;
  close(): void;
}
