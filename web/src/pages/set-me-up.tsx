import { WriteForm } from '../read-only.js'
import { useState, type FormEvent } from 'react'
import { TOKEN_PLACEHOLDER, withToken } from '../../../src/api/formats.js'
import { api } from '../api.js'
import { CopyButton, ErrorMessage, Loading, PageHeader, useAsync, useTitle } from '../components.js'
import { Link, routePath } from '../router.js'

const EXPIRY_CHOICES: readonly [label: string, secs: number][] = [
  ['1 day', 86_400],
  ['30 days', 30 * 86_400],
  ['1 year', 365 * 86_400],
  ['Never', 0],
]

/**
 * A repository's Set Me Up snippets, rendered by its format on the server for this user and the
 * address Trove was reached at; a token created here is filled in where the placeholder stands.
 */
export function SetMeUpPage({ repoKey }: { repoKey: string }) {
  useTitle(`Set Me Up: ${repoKey}`)
  const { value, error, loading } = useAsync(
    async () => {
      const [repository, setup, formats] = await Promise.all([api.repository(repoKey), api.setMeUp(repoKey), api.formats()])
      return { repository, setup, format: formats.find((f) => f.id === repository.packageType) }
    },
    [repoKey],
  )
  const [token, setToken] = useState<string | undefined>()
  const repository = value?.repository
  const setup = value?.setup

  return (
    <section>
      <PageHeader title={<>Set Me Up: {repoKey}</>}>
        <Link to={routePath('repositories', repoKey)} className="button">
          Browse
        </Link>
      </PageHeader>
      {loading && !repository ? <Loading /> : null}
      <ErrorMessage error={error} />
      {repository && setup ? (
        <>
          <p>
            A <strong>{repository.rclass}</strong> <strong>{value.format?.title ?? repository.packageType}</strong> repository
            {repository.description ? `: ${repository.description}` : ''}. The commands use the address Trove was reached at,{' '}
            <code>{setup.baseUrl}</code>, and your user name, <code>{setup.user}</code>.
            {value.format?.console ? ` The ${value.format.console.packageNoun} names and versions in them are examples: put in your own.` : null}
          </p>
          {setup.snippets.length === 0 ? <p className="empty">Trove has no Set Me Up snippets for this package type.</p> : <TokenMaker repoKey={repoKey} token={token} onToken={setToken} />}
          <ol className="snippets">
            {setup.snippets
              .map((snippet) => (token ? withToken(snippet, token) : snippet))
              .map((snippet) => (
                <li key={snippet.id} className="snippet" data-snippet={snippet.id}>
                  <div className="snippet-head">
                    <h2 id={`snippet-${snippet.id}`}>{snippet.title}</h2>
                    <CopyButton text={snippet.text} label={`Copy ${snippet.title}`} />
                  </div>
                  <p>
                    {snippet.description}
                    {snippet.file ? (
                      <>
                        {' '}
                        File: <code>{snippet.file}</code>.
                      </>
                    ) : null}
                  </p>
                  <pre aria-labelledby={`snippet-${snippet.id}`} tabIndex={0}>
                    <code>{snippet.text}</code>
                  </pre>
                </li>
              ))}
          </ol>
        </>
      ) : null}
    </section>
  )
}

function TokenMaker({ repoKey, token, onToken }: { repoKey: string; token: string | undefined; onToken: (token: string) => void }) {
  const [expiry, setExpiry] = useState(30 * 86_400)
  const [error, setError] = useState<Error | undefined>()
  const [isBusy, setBusy] = useState(false)
  const create = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const created = await api.createToken(`Set Me Up: ${repoKey}`, expiry)
      if (created?.access_token) onToken(created.access_token)
    } catch (err) {
      setError(err as Error)
    } finally {
      setBusy(false)
    }
  }
  if (token) {
    return (
      <div className="token-made" role="status">
        <p>
          <strong>Your new token is in the snippets below.</strong> It is shown only now: copy what you need before leaving this page. Revoke it under{' '}
          <Link to="/tokens">Tokens</Link>.
        </p>
        <p className="token-line">
          <code data-testid="new-token">{token}</code> <CopyButton text={token} label="Copy the token" />
        </p>
      </div>
    )
  }
  return (
    <WriteForm className="token-maker" onSubmit={create}>
      <p>
        The snippets show <code>{TOKEN_PLACEHOLDER}</code> where your access token goes.
      </p>
      <div className="field inline">
        <label htmlFor="token-expiry">Token expires after</label>
        <select id="token-expiry" value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
          {EXPIRY_CHOICES.map(([label, secs]) => (
            <option key={secs} value={secs}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" className="primary" disabled={isBusy}>
        {isBusy ? 'Creating…' : 'Create a token and fill it in'}
      </button>
      <ErrorMessage error={error} />
    </WriteForm>
  )
}
