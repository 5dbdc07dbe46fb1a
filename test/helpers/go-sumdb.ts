/**
 * A real Go checksum database on 127.0.0.1 for the Go suites: golang.org/x/mod/sumdb's server
 * (its in-memory `TestServer`: a signed transparency log, tiles, lookups), built at test time
 * from the copy of golang.org/x/mod that Debian's go ships (GOROOT/src/cmd/vendor, used as a
 * vendor folder, nothing downloaded). It vouches for the modules of one GOPROXY, computing each
 * go.sum line from the zip and go.mod it downloads there, as the public database does. The go
 * command verifies its signatures with the key {@link SumDb.verifierKey} names (`GOSUMDB`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const VENDORED = '/usr/lib/go-1.19/src/cmd/vendor/golang.org/x'

export interface SumDb {
  /** The `GOSUMDB` value: `<name>+<hash>+<key>`. */
  readonly verifierKey: string
  readonly name: string
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The paths it was asked for (`/lookup/…`, `/tile/…`, `/latest`), in order. */
  readonly requests: string[]
  close(): Promise<void>
}

const PROGRAM = `package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

// Serves a checksum database named os.Args[1] for the modules of the GOPROXY os.Args[2].
func main() {
	name, proxy := os.Args[1], os.Args[2]
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	check(err)
	gosum := func(path, version string) ([]byte, error) {
		escPath, err := module.EscapePath(path)
		if err != nil {
			return nil, err
		}
		escVersion, err := module.EscapeVersion(version)
		if err != nil {
			return nil, err
		}
		base := proxy + "/" + escPath + "/@v/" + escVersion
		zipBytes, err := get(base + ".zip")
		if err != nil {
			return nil, err
		}
		modBytes, err := get(base + ".mod")
		if err != nil {
			return nil, err
		}
		zipFile, err := os.CreateTemp("", "sumdb-*.zip")
		if err != nil {
			return nil, err
		}
		defer os.Remove(zipFile.Name())
		zipFile.Write(zipBytes)
		zipFile.Close()
		zipHash, err := dirhash.HashZip(zipFile.Name(), dirhash.Hash1)
		if err != nil {
			return nil, err
		}
		modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(modBytes)), nil })
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprintf("%s %s %s\\n%s %s/go.mod %s\\n", path, version, zipHash, path, version, modHash)), nil
	}
	server := sumdb.NewServer(sumdb.NewTestServer(skey, gosum))
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "%s http://%s\\n", vkey, listener.Addr())
	out.Flush()
	http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "%s\\n", r.URL.Path)
		server.ServeHTTP(w, r)
	}))
}

func get(url string) ([]byte, error) {
	response, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	if response.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %s", url, response.Status)
	}
	return io.ReadAll(response.Body)
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
`

const MODULES = `# golang.org/x/crypto v0.0.0-20220516162934-403b01795ae8
## explicit; go 1.17
golang.org/x/crypto/ed25519
# golang.org/x/mod v0.6.0-dev.0.20220419223038-86c51ed26bb4
## explicit; go 1.17
golang.org/x/mod/internal/lazyregexp
golang.org/x/mod/module
golang.org/x/mod/semver
golang.org/x/mod/sumdb
golang.org/x/mod/sumdb/dirhash
golang.org/x/mod/sumdb/note
golang.org/x/mod/sumdb/tlog
`

const GO_MOD = `module trove.test/sumdb

go 1.17

require (
	golang.org/x/crypto v0.0.0-20220516162934-403b01795ae8
	golang.org/x/mod v0.6.0-dev.0.20220419223038-86c51ed26bb4
)
`

/** Builds and starts the database `name`, vouching for the modules of `proxy` (a GOPROXY URL, credentials may be in it). */
export async function startSumDb(name: string, proxy: string): Promise<SumDb> {
  const dir = await mkdtemp(join(tmpdir(), 'trove-sumdb-'))
  await mkdir(join(dir, 'vendor/golang.org/x'), { recursive: true })
  for (const module of ['mod', 'crypto']) await symlink(join(VENDORED, module), join(dir, 'vendor/golang.org/x', module))
  await writeFile(join(dir, 'vendor/modules.txt'), MODULES)
  await writeFile(join(dir, 'go.mod'), GO_MOD)
  await writeFile(join(dir, 'main.go'), PROGRAM)
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    GOPATH: join(dir, 'gopath'),
    GOCACHE: join(dir, 'gocache'),
    GOFLAGS: '-mod=vendor',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
  }
  await run('go', ['build', '-o', 'sumdb', '.'], dir, env)
  const child = spawn(join(dir, 'sumdb'), [name, proxy], { cwd: dir, env })
  const requests: string[] = []
  createInterface({ input: child.stderr }).on('line', (line) => requests.push(line))
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`the checksum database stand-in exited (${code})`)))
  })
  const [verifierKey, url] = first.split(' ')
  return {
    verifierKey: verifierKey!,
    name,
    url: url!,
    requests,
    async close() {
      await stop(child)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, env })
    let output = ''
    child.stdout.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr.on('data', (c: Buffer) => (output += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${output}`))))
  })
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}
