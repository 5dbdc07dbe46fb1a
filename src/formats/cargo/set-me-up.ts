import type { SetupContext, Snippet } from '../../api/formats.js'
import { setupTarget } from '../set-me-up.js'

/**
 * Set Me Up for a Cargo registry: `.cargo/config.toml` (the sparse index, and for a remote or a
 * virtual the replacement of Cargo's default source), the token in `.cargo/credentials.toml`,
 * and publish/yank commands for repositories that take pushes.
 */
export function cargoSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const index = `sparse+${target.baseUrl}/artifactory/api/cargo/${target.key}/index/`
  const isMirror = target.rclass !== 'local'
  const config = [
    '[registries.trove]',
    `index = "${index}"`,
    'credential-provider = ["cargo:token"]',
    ...(isMirror ? ['', '# Every crate of the default registry comes through Trove.', '[source.crates-io]', 'replace-with = "trove"'] : []),
    '',
    '[registry]',
    'global-credential-providers = ["cargo:token"]',
  ]
  const snippets: Snippet[] = [
    {
      id: 'cargo-config',
      title: '.cargo/config.toml',
      description: isMirror
        ? 'In the project or in ~/.cargo: dependencies of the default registry are fetched through this repository; crates of it by registry = "trove".'
        : 'In the project or in ~/.cargo: crates of this repository are dependencies with registry = "trove".',
      file: '.cargo/config.toml',
      text: config.join('\n'),
    },
    {
      id: 'cargo-credentials',
      title: '.cargo/credentials.toml',
      description: 'The token cargo sends (or set CARGO_REGISTRIES_TROVE_TOKEN).',
      file: '.cargo/credentials.toml',
      text: ['[registries.trove]', `token = "${target.secret}"`].join('\n'),
    },
    {
      id: 'cargo-dependency',
      title: 'Depend on a crate',
      description: 'In Cargo.toml, then cargo build or cargo fetch.',
      file: 'Cargo.toml',
      text: ['[dependencies]', 'my-crate = { version = "0.1", registry = "trove" }'].join('\n'),
    },
  ]
  if (target.canPush) {
    snippets.push({
      id: 'cargo-publish',
      title: 'Publish and yank',
      description:
        'From the crate folder, with the files above in place.' + (target.rclass === 'virtual' ? " It lands in the virtual repository's deployment repository." : ''),
      text: ['cargo publish --registry trove', 'cargo yank --registry trove my-crate@0.1.0', 'cargo yank --registry trove --undo my-crate@0.1.0'].join('\n'),
    })
  }
  return snippets
}
