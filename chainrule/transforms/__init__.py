"""The transforms: forward (jvp), reverse (vjp/grad), batching (vmap), custom rules."""
