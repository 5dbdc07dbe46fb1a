import type { UiRepositorySetting } from '../api.js'
import { Checkbox, Field } from '../components.js'
import { settingValue, type SettingValue } from '../repository-settings.js'

/**
 * The controls of the settings a format declares (`GET /api/v1/ui/formats`), one per setting by
 * its type: a checkbox, a number, a text, a comma-separated list or a choice. Knows no format.
 */
export function SettingFields({
  settings,
  values,
  errors,
  onChange,
}: {
  settings: readonly UiRepositorySetting[]
  values: Readonly<Record<string, SettingValue>>
  errors: Readonly<Record<string, string>>
  onChange: (name: string, value: SettingValue) => void
}) {
  return (
    <>
      {settings.map((setting) => {
        const value = values[setting.name] ?? settingValue(setting)
        const error = errors[setting.name]
        if (setting.type === 'boolean') {
          return <Checkbox key={setting.name} label={setting.label} help={setting.help} checked={value === true} onChange={(v) => onChange(setting.name, v)} error={error} />
        }
        const text = String(value)
        const help = setting.type === 'string-list' ? `${setting.help} Separate values with commas.` : setting.help
        return (
          <Field key={setting.name} label={setting.label} help={help} error={error}>
            {(props) =>
              setting.type === 'enum' ? (
                <select {...props} value={text} onChange={(e) => onChange(setting.name, e.target.value)}>
                  {(setting.values ?? []).map((v) => (
                    <option key={v}>{v}</option>
                  ))}
                </select>
              ) : (
                <input
                  {...props}
                  value={text}
                  inputMode={setting.type === 'number' ? 'numeric' : undefined}
                  spellCheck={false}
                  onChange={(e) => onChange(setting.name, e.target.value)}
                />
              )
            }
          </Field>
        )
      })}
    </>
  )
}
