// kinesalite ships no types; the part the tests use.
declare module 'kinesalite' {
  import type { Server } from 'node:http';
  interface KinesaliteOptions {
    createStreamMs?: number;
    deleteStreamMs?: number;
    updateStreamMs?: number;
    shardLimit?: number;
    /** A LevelDB folder; without it the streams live in memory. */
    path?: string;
  }
  export default function kinesalite(options?: KinesaliteOptions): Server;
}
