/**
 * One hook set made of several (metrics, logging, …): each call goes to every set in order, and a
 * set that throws does not stop the others nor reach the caller (the hooks contracts ask hooks not
 * to throw; a failure of one is its own).
 */
import type { AdsHooks } from '../ads/ads-hooks';
import type { WatchObserver } from '../inputs/consul-watch';
import type { PushServerHooks } from '../push/push-server';

/** Every method name of a hooks interface: a record, so that the compiler notices a name left out. */
export type HookNames<T> = { readonly [K in keyof Required<T>]: true };

export function fanOut<T extends object>(names: HookNames<T>, all: readonly T[]): T {
  const combined: Record<string, (...args: unknown[]) => void> = {};
  for (const name of Object.keys(names)) {
    combined[name] = (...args) => {
      for (const hooks of all) {
        const fn: unknown = (hooks as Record<string, unknown>)[name];
        if (typeof fn !== 'function') continue;
        try {
          fn.apply(hooks, args);
        } catch {
          // a hook's failure is its own; the caller and the other hooks go on
        }
      }
    };
  }
  return combined as T;
}

const ADS_HOOKS: HookNames<AdsHooks> = { onStreamOpen: true, onRequest: true, onResponse: true, onStreamClosed: true, onLimitExceeded: true };
const WATCH_OBSERVER: HookNames<WatchObserver> = { onState: true, onRead: true, onIndexReset: true, onError: true, onLoaded: true };
const PUSH_HOOKS: HookNames<PushServerHooks> = { onPush: true, onRejected: true };

export const combineHooks = (...all: readonly AdsHooks[]): AdsHooks => fanOut(ADS_HOOKS, all);
export const combineObservers = (...all: readonly WatchObserver[]): WatchObserver => fanOut(WATCH_OBSERVER, all);
export const combinePushHooks = (...all: readonly PushServerHooks[]): PushServerHooks => fanOut(PUSH_HOOKS, all);
