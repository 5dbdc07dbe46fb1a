import type { SetupContext, Snippet } from '../../api/formats.js'
import { escapedSecret, setupTarget, xml } from '../set-me-up.js'

/** Set Me Up for a Maven repository: settings.xml, the pom.xml deploy target, mvn deploy and deploy-file. */
export function mavenSetMeUp(context: SetupContext): Snippet[] {
  const target = setupTarget(context)
  const url = `${target.baseUrl}/artifactory/${target.key}`
  // One id for the server, mirror, profile and deploy target: Maven finds the credentials by it.
  const id = `trove-${target.key}`
  const isLocal = target.rclass === 'local'
  const withSnapshots = (tag: string, repoId: string) => [
    `        <${tag}>`,
    `          <id>${repoId}</id>`,
    `          <url>${url}</url>`,
    '          <releases><enabled>true</enabled></releases>',
    '          <snapshots><enabled>true</enabled></snapshots>',
    `        </${tag}>`,
  ]
  // A local repository holds only what was deployed to it: it goes beside the others rather than
  // mirroring everything, or nothing from anywhere else would resolve. Any other class takes
  // everything, with `central` redefined with SNAPSHOTs enabled: Maven's built-in one disables
  // them and a mirror keeps the policy of what it mirrors, so without it SNAPSHOT dependencies
  // would never be looked up (docs/formats/maven.md).
  const settings = [
    '<settings>',
    '  <servers>',
    '    <server>',
    `      <id>${id}</id>`,
    `      <username>${xml(target.user)}</username>`,
    `      <password>${escapedSecret(target, xml)}</password>`,
    '    </server>',
    '  </servers>',
    ...(isLocal ? [] : ['  <mirrors>', '    <mirror>', `      <id>${id}</id>`, '      <mirrorOf>*</mirrorOf>', `      <url>${url}</url>`, '    </mirror>', '  </mirrors>']),
    '  <profiles>',
    '    <profile>',
    `      <id>${id}</id>`,
    '      <repositories>',
    ...withSnapshots('repository', isLocal ? id : 'central'),
    '      </repositories>',
    ...(isLocal ? [] : ['      <pluginRepositories>', ...withSnapshots('pluginRepository', 'central'), '      </pluginRepositories>']),
    '    </profile>',
    '  </profiles>',
    `  <activeProfiles><activeProfile>${id}</activeProfile></activeProfiles>`,
    '</settings>',
  ]
  const snippets: Snippet[] = [
    {
      id: 'maven-settings',
      title: 'settings.xml',
      description: isLocal
        ? 'In ~/.m2/settings.xml: resolves from this repository as well as your others.'
        : 'In ~/.m2/settings.xml: every dependency and plugin, releases and SNAPSHOTs, comes through this repository.',
      file: 'settings.xml',
      text: settings.join('\n'),
    },
  ]
  if (target.canPush) {
    snippets.push(
      {
        id: 'maven-distribution',
        title: 'pom.xml',
        description:
          target.rclass === 'virtual'
            ? "Where mvn deploy puts the artifacts: the virtual repository's deployment repository (the id matches the server above)."
            : 'Where mvn deploy puts the artifacts, releases and SNAPSHOTs (the id matches the server above).',
        file: 'pom.xml',
        text: [
          '<distributionManagement>',
          ...['repository', 'snapshotRepository'].flatMap((tag) => [`  <${tag}>`, `    <id>${id}</id>`, `    <url>${url}</url>`, `  </${tag}>`]),
          '</distributionManagement>',
        ].join('\n'),
      },
      { id: 'maven-deploy', title: 'Deploy', description: 'From the project folder.', text: 'mvn deploy' },
      {
        id: 'maven-deploy-file',
        title: 'Deploy a single file',
        description: 'A jar built elsewhere, without a pom.xml; the credentials come from the settings.xml server with this repositoryId.',
        text: [
          'mvn deploy:deploy-file -Dfile=my-tool-1.0.jar \\',
          '    -DgroupId=org.example -DartifactId=my-tool -Dversion=1.0 -Dpackaging=jar \\',
          `    -Durl=${url} -DrepositoryId=${id}`,
        ].join('\n'),
      },
    )
  }
  return snippets
}
