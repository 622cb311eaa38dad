import { describe, expect, it } from 'vitest';
import { storeServiceEnv } from '../../../services/launcher/service-processes.ts';

describe('storeServiceEnv', () => {
  it('limits glibc malloc to two arenas, keeping the rest of the environment', () => {
    const env = { DYNAB_BROKERS: 'a:9092', PATH: '/usr/bin' };
    expect(storeServiceEnv(env)).toEqual({ ...env, MALLOC_ARENA_MAX: '2' });
    expect(env).not.toHaveProperty('MALLOC_ARENA_MAX');
  });

  it('keeps a MALLOC_ARENA_MAX the user set', () => {
    expect(storeServiceEnv({ MALLOC_ARENA_MAX: '8' })).toEqual({ MALLOC_ARENA_MAX: '8' });
  });
});
