import { describe, expect, it } from 'vitest'
import type { UiFormat, UiRepositorySetting } from './api.js'
import { settingsBody, settingsFor, settingValue } from './repository-settings.js'

const setting = (type: UiRepositorySetting['type'], extra: Partial<UiRepositorySetting> = {}): UiRepositorySetting => ({
  name: `a-${type}`,
  label: type,
  help: `A ${type}.`,
  kinds: ['local'],
  type,
  ...extra,
})
const SETTINGS = [
  setting('boolean', { name: 'handleSnapshots', default: true }),
  setting('number', { name: 'maxUniqueSnapshots' }),
  setting('string', { name: 'layout', default: 'maven-2-default' }),
  setting('string-list', { name: 'suppressions' }),
  setting('enum', { name: 'checksumPolicy', values: ['verify', 'ignore'] }),
]

describe('repository settings in the form', () => {
  it('offers the settings of the chosen format that apply to the chosen class', () => {
    const format: UiFormat = { id: 'maven', title: 'Maven', kinds: ['local', 'remote'], settings: [setting('boolean', { kinds: ['local'] }), setting('number', { kinds: ['remote', 'local'] })] }
    expect(settingsFor(format, 'remote').map((s) => s.type)).toEqual(['number'])
    expect(settingsFor(format, 'local')).toHaveLength(2)
    expect(settingsFor(undefined, 'local')).toEqual([])
  })

  it('shows the defaults for a new repository, and what is stored for an existing one', () => {
    expect(SETTINGS.map((s) => settingValue(s))).toEqual([true, '', 'maven-2-default', '', 'verify'])
    const stored = { handleSnapshots: false, maxUniqueSnapshots: 5, layout: 'simple', suppressions: ['a', 'b'], checksumPolicy: 'ignore' }
    expect(SETTINGS.map((s) => settingValue(s, stored))).toEqual([false, '5', 'simple', 'a, b', 'ignore'])
  })

  it('sends the values in their JSON types; empty ones are left out of a new repository and cleared on an update', () => {
    const values = { handleSnapshots: false, maxUniqueSnapshots: ' 7 ', layout: '', suppressions: ' a, ,b ', checksumPolicy: 'ignore' }
    expect(settingsBody(SETTINGS, values, true)).toEqual({ handleSnapshots: false, maxUniqueSnapshots: 7, suppressions: ['a', 'b'], checksumPolicy: 'ignore' })
    const cleared = { ...values, suppressions: '', maxUniqueSnapshots: '' }
    expect(settingsBody(SETTINGS, cleared, false)).toEqual({ handleSnapshots: false, layout: '', suppressions: [], checksumPolicy: 'ignore' })
  })

  it('a control left untouched sends its default; a number that is not one is sent as typed for the server to refuse', () => {
    expect(settingsBody(SETTINGS, {}, true)).toEqual({ handleSnapshots: true, layout: 'maven-2-default', checksumPolicy: 'verify' })
    expect(settingsBody(SETTINGS, { maxUniqueSnapshots: 'ten' }, true).maxUniqueSnapshots).toBe('ten')
  })
})
