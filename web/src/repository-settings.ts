import type { UiFormat, UiRepositorySetting } from './api.js'

/**
 * The settings a format adds to its repositories (`GET /api/v1/ui/formats`), as the repository
 * form holds them: a checkbox's value for `boolean`, the text of its control for the others.
 */
export type SettingValue = boolean | string

/** The settings of a format that apply to a class of repository. */
export function settingsFor(format: UiFormat | undefined, rclass: string): UiRepositorySetting[] {
  return (format?.settings ?? []).filter((s) => s.kinds.some((k) => k === rclass))
}

/** What the control shows: the configuration's value when it has one, else the setting's default. */
export function settingValue(setting: UiRepositorySetting, config?: Readonly<Record<string, unknown>>): SettingValue {
  const given = config?.[setting.name]
  const value = given === undefined || given === null ? setting.default : given
  switch (setting.type) {
    case 'boolean':
      return value === true
    case 'string-list':
      return Array.isArray(value) ? value.join(', ') : typeof value === 'string' ? value : ''
    case 'enum':
      return typeof value === 'string' ? value : (setting.values?.[0] ?? '')
    default:
      return value === undefined ? '' : String(value)
  }
}

/**
 * The repository JSON's fields for the settings' values. An empty control is left out of a new
 * repository (the server applies the default); on an update an empty text or list is sent empty,
 * to clear it. A number that is not one is sent as typed, for the server to say what is wrong.
 */
export function settingsBody(settings: readonly UiRepositorySetting[], values: Readonly<Record<string, SettingValue>>, isNew: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  for (const setting of settings) {
    const value = values[setting.name] ?? settingValue(setting)
    if (setting.type === 'boolean') {
      body[setting.name] = value === true
      continue
    }
    const text = String(value).trim()
    if (setting.type === 'string-list') {
      const list = text.split(',').map((v) => v.trim()).filter((v) => v !== '')
      if (list.length > 0 || !isNew) body[setting.name] = list
    } else if (setting.type === 'number') {
      if (text !== '') body[setting.name] = Number.isFinite(Number(text)) ? Number(text) : text
    } else if (text !== '' || !isNew) {
      body[setting.name] = text
    }
  }
  return body
}
