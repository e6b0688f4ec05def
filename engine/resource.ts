// Typed resources: how plug-ins reach each other's state without naming each other by string.
// A key is made once, beside the interface that types the resource (components/), by
// `defineResource<T>(name)`. The plug-in that owns the resource lists the key in `provides`;
// a plug-in that needs it lists it in `requires` (the world refuses to start without it, naming
// both plug-ins) or in `optional` (it checks `optionalResource(Key)` for undefined).

/** A typed handle on a resource some plug-in provides. `T` exists only for the compiler. */
export interface ResourceKey<T> {
  /** Resource name, for messages. */
  readonly name: string;
  /** The plug-in expected to provide it (for the error when it is missing). */
  readonly plugin: string;
  /** Phantom field carrying the type; never set. */
  readonly __type?: T;
}

/**
 * A key for a resource of type `T`. `plugin` is the plug-in that usually provides it (named
 * in the start-up error when no plug-in does); it defaults to `name`.
 */
export function defineResource<T>(name: string, plugin: string = name): ResourceKey<T> {
  return Object.freeze({ name, plugin });
}

/** Raised at world start when declared resources do not fit together. Names both plug-ins. */
export class ResourceError extends Error {
  override name = "ResourceError";
}

/** Anything that can hand out resources: the world and every system/setup context. */
export interface ResourceSource {
  /** The resource; throws naming the resource and its usual provider when no plug-in provides it. */
  resource<T>(key: ResourceKey<T>): T;
  /** The resource, or undefined when no plug-in in this world provides it. */
  optionalResource<T>(key: ResourceKey<T>): T | undefined;
}
