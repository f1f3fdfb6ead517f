/**
 * The Dockerfile parser and the history matcher (docs/dockerfile.md). Expected lines are found in the
 * test's own Dockerfile text (the line holding a marker string), never from the parser. The classic
 * histories below were recorded from Docker 20.10's legacy builder building PROBE (`docker history
 * --no-trunc`); the BuildKit ones are written the way BuildKit's dockerfile2llb records each
 * instruction (`commitToHistory`: `RUN <args> # buildkit`, `COPY <srcs> <dest> # buildkit`, `ENV k=v` …).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectSchemaValid } from '../helpers/report.js';
import { makeAnalysis } from '../helpers/analysis.js';
import { locate } from '../../src/dockerfile/locate.js';
import { contextProbe } from '../../src/dockerfile/read.js';
import { tmpDir } from '../helpers/images.js';
import type { BuildContext } from '../../src/dockerfile/expect.js';
import type { LayerPaths } from '../../src/dockerfile/layer-paths.js';
import { type MatchEvidence, matchHistory } from '../../src/dockerfile/match.js';
import { instructionsOf, parseDockerfile } from '../../src/dockerfile/parse.js';

/** 1-based number of the line that contains `marker` (exactly one must). */
function lineOf(text: string, marker: string, from = 1): number {
  const lines = text.split('\n');
  const hits = lines.map((l, i) => (i + 1 >= from && l.includes(marker) ? i + 1 : 0)).filter(Boolean);
  if (hits.length === 0) throw new Error(`no line holds ${marker}`);
  return hits[0]!;
}

/** A build context holding `files` (context-relative path → size, null for a link), as dockerfile/read.ts lists one. */
function contextOf(files: Record<string, number | null>): BuildContext {
  return {
    read(rel) {
      if (rel in files) return { kind: 'file', size: files[rel]! };
      const under = Object.entries(files).filter(([f]) => rel === '' || f.startsWith(`${rel}/`));
      if (!under.length) return { kind: 'missing' };
      return { kind: 'dir', files: new Map(under.map(([f, n]) => [rel === '' ? f : f.slice(rel.length + 1), n])) };
    },
  };
}

/** A layer's summary as dockerfile/layer-paths.ts makes it: paths, sizes and their deepest common directory. */
function layerOf(files: Record<string, number | null>): LayerPaths {
  const paths = Object.keys(files);
  const dirs = paths.map((p) => p.split('/').slice(0, -1));
  const under = dirs.reduce((a, b) => {
    let k = 0;
    while (k < a.length && k < b.length && a[k] === b[k]) k++;
    return a.slice(0, k);
  });
  return { count: paths.length, paths, sizes: Object.values(files), under: under.join('/') };
}

const PROBE = `# a probe
ARG BASE=imgscope/debian-base:bookworm
ARG GLOBAL=g1
FROM \${BASE} AS build
ARG INSTALL=pip
ARG UNUSED
ENV APP_HOME=/opt/app PATH=/opt/venv/bin:$PATH
WORKDIR $APP_HOME
WORKDIR sub
COPY a.txt b.txt ./
COPY . /ctx/
RUN echo "$INSTALL" > /x.txt \\
 # a comment inside

 && echo two >> /x.txt
RUN ["sh", "-c", "echo exec > /y.txt"]
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN echo bash | cat > /z.txt
LABEL org.example.a="1 2" b=c
ADD a.txt /added/
USER root
EXPOSE 8000/tcp 9000
VOLUME ["/data"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo hi

FROM \${BASE}
ARG INSTALL=pip
COPY --from=build /x.txt /y.txt /out/
COPY --from=build --chown=1:1 /z.txt /out/z.txt
RUN cat /out/x.txt && \\
    echo done
HEALTHCHECK --interval=30s CMD ["true"]
CMD ["python3", "-m", "x"]
`;
const FINAL = lineOf(PROBE, 'FROM ${BASE}', 5);

/** [created_by, marker of the line that made it (from line `from`), or '' for a base-image step]. */
type Rec = [string, string];

const CLASSIC_BUILD: Rec[] = [
  ['', ''],
  ['/bin/sh -c #(nop)  ARG INSTALL=pip', 'ARG INSTALL'],
  ['/bin/sh -c #(nop)  ARG UNUSED', 'ARG UNUSED'],
  ['/bin/sh -c #(nop)  ENV APP_HOME=/opt/app PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'ENV APP_HOME'],
  ['/bin/sh -c #(nop) WORKDIR /opt/app', 'WORKDIR $APP_HOME'],
  ['/bin/sh -c #(nop) WORKDIR /opt/app/sub', 'WORKDIR sub'],
  ['/bin/sh -c #(nop) COPY multi:59e3963f5e7d6137120d6afcd1a6ca6a02dfe35f6ed41d7b8cbee2bf80896577 in ./ ', 'COPY a.txt'],
  ['/bin/sh -c #(nop) COPY dir:25dd793f8f72fec238f03da6660dc3976da5d2c772736600a29fcaa7adc34b17 in /ctx/ ', 'COPY . /ctx/'],
  ['|1 INSTALL=apt /bin/sh -c echo "$INSTALL" > /x.txt  && echo two >> /x.txt', 'RUN echo "$INSTALL"'],
  ['|1 INSTALL=apt sh -c echo exec > /y.txt', 'RUN ["sh"'],
  ['/bin/bash -o pipefail -c #(nop)  SHELL [/bin/bash -o pipefail -c]', 'SHELL'],
  ['|1 INSTALL=apt /bin/bash -o pipefail -c echo bash | cat > /z.txt', 'RUN echo bash'],
  ['/bin/bash -o pipefail -c #(nop)  LABEL org.example.a=1 2 b=c', 'LABEL'],
  ['/bin/bash -o pipefail -c #(nop) ADD file:a596f0888def06c3cad1442667ede22d419985a1c8a3155b838b650c4cf52ecc in /added/ ', 'ADD'],
  ['/bin/bash -o pipefail -c #(nop)  USER root', 'USER'],
  ['/bin/bash -o pipefail -c #(nop)  EXPOSE 8000/tcp 9000', 'EXPOSE'],
  ['/bin/bash -o pipefail -c #(nop)  VOLUME [/data]', 'VOLUME'],
  ['/bin/bash -o pipefail -c #(nop)  STOPSIGNAL SIGTERM', 'STOPSIGNAL'],
  ['/bin/bash -o pipefail -c #(nop)  ENTRYPOINT ["/bin/sh" "-c"]', 'ENTRYPOINT'],
  ['/bin/bash -o pipefail -c #(nop)  CMD ["/bin/bash" "-o" "pipefail" "-c" "echo hi"]', 'CMD echo hi'],
];

const CLASSIC_FINAL: Rec[] = [
  ['', ''],
  ['/bin/sh -c #(nop)  ARG INSTALL=pip', 'ARG INSTALL'],
  ['/bin/sh -c #(nop) COPY multi:29d0ee88e7e562b61eeda496083141f8882d69f21b7afb8780018894243815ef in /out/ ', 'COPY --from=build /x.txt'],
  ['/bin/sh -c #(nop) COPY --chown=1:1file:ea9ade86a93a25ac95b976b55068fcca47cfcfb031d96e18054c1541e541958c in /out/z.txt ', 'COPY --from=build --chown'],
  ['|1 INSTALL=apt /bin/sh -c cat /out/x.txt &&     echo done', 'RUN cat'],
  ['/bin/sh -c #(nop)  HEALTHCHECK &{["CMD" "true"] "30s" "0s" "0s" \'\\x00\'}', 'HEALTHCHECK'],
  ['/bin/sh -c #(nop)  CMD ["python3" "-m" "x"]', 'CMD ["python3"'],
];

const BUILDKIT_BUILD: Rec[] = [
  ['/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef in / ', ''],
  ['/bin/sh -c #(nop)  CMD ["bash"]', ''],
  ['ARG INSTALL=apt', 'ARG INSTALL'],
  ['ARG UNUSED', 'ARG UNUSED'],
  ['ENV APP_HOME=/opt/app PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'ENV APP_HOME'],
  ['WORKDIR /opt/app', 'WORKDIR $APP_HOME'],
  ['WORKDIR /opt/app/sub', 'WORKDIR sub'],
  ['COPY a.txt b.txt ./ # buildkit', 'COPY a.txt'],
  ['COPY . /ctx/ # buildkit', 'COPY . /ctx/'],
  ['RUN |2 INSTALL=apt UNUSED= /bin/sh -c echo "$INSTALL" > /x.txt  && echo two >> /x.txt # buildkit', 'RUN echo "$INSTALL"'],
  ['RUN |2 INSTALL=apt UNUSED= sh -c echo exec > /y.txt # buildkit', 'RUN ["sh"'],
  ['SHELL [/bin/bash -o pipefail -c]', 'SHELL'],
  ['RUN |2 INSTALL=apt UNUSED= /bin/bash -o pipefail -c echo bash | cat > /z.txt # buildkit', 'RUN echo bash'],
  ['LABEL org.example.a=1 2 b=c', 'LABEL'],
  ['ADD a.txt /added/ # buildkit', 'ADD'],
  ['USER root', 'USER'],
  ['EXPOSE map[8000/tcp:{} 9000/tcp:{}]', 'EXPOSE'],
  ['VOLUME [/data]', 'VOLUME'],
  ['STOPSIGNAL SIGTERM', 'STOPSIGNAL'],
  ['ENTRYPOINT ["/bin/sh" "-c"]', 'ENTRYPOINT'],
  ['CMD ["/bin/bash" "-o" "pipefail" "-c" "echo hi"]', 'CMD echo hi'],
];

const BUILDKIT_FINAL: Rec[] = [
  ['/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef in / ', ''],
  ['ARG INSTALL=apt', 'ARG INSTALL'],
  ['COPY /x.txt /y.txt /out/ # buildkit', 'COPY --from=build /x.txt'],
  ['COPY --chown=1:1 /z.txt /out/z.txt # buildkit', 'COPY --from=build --chown'],
  ['RUN |1 INSTALL=apt /bin/sh -c cat /out/x.txt &&     echo done # buildkit', 'RUN cat'],
  ['HEALTHCHECK {Test:[CMD true] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}', 'HEALTHCHECK'],
  ['CMD ["python3" "-m" "x"]', 'CMD ["python3"'],
];

function expectLines(text: string, recs: Rec[], stageFrom: number, stage: string): void {
  const df = parseDockerfile(text, 'Dockerfile');
  // the base image's length, as the daemon's history of the FROM image tells it (dockerfile/base.ts)
  const base = recs.findIndex((r) => r[1] !== '');
  const m = matchHistory(df, recs.map((r) => r[0]), { baseSteps: () => base });
  expect(m.target?.name ?? String(m.target?.index)).toBe(stage);
  const got = m.steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind === 'base' ? -s.stage.from.line : 0));
  const fromLine = stage === 'build' ? lineOf(text, 'AS build') : stageFrom;
  const want = recs.map(([, marker]) => (marker ? lineOf(text, marker, stageFrom) : -fromLine));
  expect(got).toEqual(want);
}

describe('Dockerfile parser', () => {
  it('joins continuation lines as the builder does: comment and blank lines dropped, spaces kept', () => {
    const { instructions } = instructionsOf(PROBE);
    const run = instructions.find((i) => i.text.startsWith('echo "$INSTALL"'))!;
    expect(run.line).toBe(lineOf(PROBE, 'RUN echo "$INSTALL"'));
    expect(run.endLine).toBe(lineOf(PROBE, '&& echo two'));
    expect(run.text).toBe('echo "$INSTALL" > /x.txt  && echo two >> /x.txt');
    const hc = instructions.find((i) => i.keyword === 'HEALTHCHECK')!;
    expect(hc.flags).toEqual({ interval: '30s' });
    expect(instructions.find((i) => i.keyword === 'VOLUME')!.json).toEqual(['/data']);
    expect(instructions.find((i) => i.text.startsWith('echo hi'))!.json).toBeUndefined();
  });

  it('reads the escape directive: a backtick continues lines and a backslash is plain text', () => {
    const text = '# escape=`\nFROM mcr.microsoft.com/windows/servercore\nRUN dir C:\\ `\n    && echo ok\nCOPY a.txt C:\\app\\\n';
    const df = parseDockerfile(text, 'Dockerfile');
    expect(df.escape).toBe('`');
    const [run, copy] = df.stages[0]!.instructions;
    expect([run!.line, run!.endLine, run!.text]).toEqual([3, 4, 'dir C:\\     && echo ok']);
    expect([copy!.line, copy!.endLine]).toEqual([5, 5]);
  });

  it('reads heredocs for RUN and COPY: the body lines belong to the instruction', () => {
    const text = 'FROM x\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nCOPY <<-CONF /etc/app.conf\n\tkey=1\n\tCONF\nRUN echo after\n';
    const ins = parseDockerfile(text, 'Dockerfile').stages[0]!.instructions;
    expect(ins.map((i) => [i.keyword, i.line, i.endLine])).toEqual([
      ['RUN', lineOf(text, 'RUN <<EOF'), lineOf(text, 'EOF', lineOf(text, 'curl'))],
      ['COPY', lineOf(text, 'COPY <<-CONF'), lineOf(text, '\tCONF')],
      ['RUN', lineOf(text, 'echo after'), lineOf(text, 'echo after')],
    ]);
    expect(ins[0]!.heredocs).toEqual([{ name: 'EOF', chomp: false, body: 'apt-get update\napt-get install -y curl\n' }]);
    expect(ins[1]!.heredocs[0]!.body).toBe('key=1\n');
  });

  it('a heredoc is a shell word starting with << (BuildKit), not << anywhere in the line (review 15, 5)', () => {
    const text = 'FROM x\nRUN echo $((1<<4)) > /n\nRUN git log --format="<<A" -1\nRUN echo "<<B" << C cat<<D\nRUN ["sh", "-c", "cat <<E"]\nRUN echo x << y\nCOPY <<"F" /f\nbody\nF\nENV X=<<G\nRUN echo done\n';
    const ins = parseDockerfile(text, 'Dockerfile').stages[0]!.instructions;
    // only the COPY's quoted delimiter opens one; the ENV is not RUN/COPY/ADD
    expect(ins.map((i) => [i.keyword, i.line, i.endLine, i.heredocs.map((h) => h.name)])).toEqual([
      ['RUN', 2, 2, []],
      ['RUN', 3, 3, []],
      ['RUN', 4, 4, []],
      ['RUN', 5, 5, []],
      ['RUN', 6, 6, []],
      ['COPY', lineOf(text, 'COPY <<'), lineOf(text, 'F', lineOf(text, 'body')), ['F']],
      ['ENV', lineOf(text, 'ENV X'), lineOf(text, 'ENV X'), []],
      ['RUN', lineOf(text, 'echo done'), lineOf(text, 'echo done'), []],
    ]);
    // fd digits and <<- as BuildKit allows them
    const fd = parseDockerfile('FROM x\nRUN cat 3<<-EOT\n\thi\n\tEOT\n', 'Dockerfile').stages[0]!.instructions[0]!;
    expect(fd.heredocs).toEqual([{ name: 'EOT', chomp: true, body: 'hi\n' }]);
  });

  it('splits stages and follows FROM <stage> chains; rejects what is not a Dockerfile', () => {
    const text = 'ARG V=1\nFROM alpine:$V AS base\nRUN a\nFROM base AS build\nRUN b\nFROM debian\nCOPY --from=build /x /x\n';
    const df = parseDockerfile(text, 'Dockerfile');
    expect(df.stages.map((s) => [s.index, s.name, s.base])).toEqual([[0, 'base', 'alpine:$V'], [1, 'build', 'base'], [2, undefined, 'debian']]);
    expect(df.stages[2]!.instructions[0]!.flags).toEqual({ from: 'build' });
    expect(() => parseDockerfile('RUN x\n', 'Dockerfile')).toThrow(/before the first FROM/);
    expect(() => parseDockerfile('# nothing\n', 'Dockerfile')).toThrow(/no FROM/);
    expect(() => parseDockerfile('FROM x\nRUN <<EOF\nnever closed\n', 'Dockerfile')).toThrow(/never closed/);
  });
});

describe('history matched to Dockerfile lines', () => {
  it('classic builder, both stages: every step on its line, the base image on the FROM', () => {
    expectLines(PROBE, CLASSIC_BUILD, 1, 'build');
    expectLines(PROBE, CLASSIC_FINAL, FINAL, '1');
  });

  it('BuildKit, both stages: the same lines from BuildKit records', () => {
    expectLines(PROBE, BUILDKIT_BUILD, 1, 'build');
    expectLines(PROBE, BUILDKIT_FINAL, FINAL, '1');
  });

  it('BuildKit heredocs: a whole-body RUN, a command fed a heredoc, a shebang script, COPY <<EOF', () => {
    const text = 'FROM x\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nRUN python3 <<PY\nprint(1)\nPY\nRUN <<SH\n#!/bin/bash\necho hi\nSH\nCOPY <<EOF /app/conf\nk=v\nEOF\n';
    const recs: Rec[] = [
      ['', ''],
      ['RUN /bin/sh -c apt-get update\napt-get install -y curl\n # buildkit', 'RUN <<EOF'],
      ['RUN /bin/sh -c python3 <<PY\nprint(1)\nPY # buildkit', 'RUN python3'],
      ['RUN /dev/pipes/SH # buildkit', 'RUN <<SH'],
      ['COPY <<EOF /app/conf # buildkit', 'COPY <<EOF'],
    ];
    expectLines(text, recs, 1, '0');
  });

  it('build args in scope (|N prefix, a value with a space), ONBUILD left out by BuildKit', () => {
    const text = 'FROM x\nARG A=1\nARG B\nONBUILD RUN echo later\nRUN make all\n';
    const classic: Rec[] = [['', ''], ['/bin/sh -c #(nop)  ARG A=1', 'ARG A'], ['/bin/sh -c #(nop)  ARG B', 'ARG B'], ['/bin/sh -c #(nop)  ONBUILD RUN echo later', 'ONBUILD'], ['|2 A=1 B=x y /bin/sh -c make all', 'RUN make']];
    expectLines(text, classic, 1, '0');
    const buildkit: Rec[] = [['', ''], ['ARG A=1', 'ARG A'], ['ARG B=x y', 'ARG B'], ['RUN |2 A=1 B=x y /bin/sh -c make all # buildkit', 'RUN make']];
    expectLines(text, buildkit, 1, '0');
  });

  it('a stage FROM another stage: its chain is matched, the chain root FROM holds the base image', () => {
    const text = 'FROM debian AS base\nRUN apt-get install -y a\nFROM base AS app\nCOPY x /x\nCMD ["x"]\nFROM debian AS other\nRUN echo other\n';
    const recs: Rec[] = [
      ['/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef in / ', ''],
      ['RUN /bin/sh -c apt-get install -y a # buildkit', 'RUN apt-get'],
      ['COPY x /x # buildkit', 'COPY x'],
      ['CMD ["x"]', 'CMD'],
    ];
    const df = parseDockerfile(text, 'Dockerfile');
    const m = matchHistory(df, recs.map((r) => r[0]), { baseSteps: (root) => (root.name === 'base' ? 1 : undefined) });
    expect(m.target?.name).toBe('app');
    expect(m.steps.map((st) => (st.kind === 'instruction' ? [st.stage.name, st.ins.line] : [st.kind, st.kind === 'base' ? st.stage.from.line : 0]))).toEqual([
      ['base', lineOf(text, 'FROM debian AS base')],
      ['base', lineOf(text, 'RUN apt-get')],
      ['app', lineOf(text, 'COPY x')],
      ['app', lineOf(text, 'CMD')],
    ]);
  });

  it('stays unmatched rather than wrong: edited text, an inserted instruction, another Dockerfile', () => {
    const df = parseDockerfile(PROBE, 'Dockerfile');
    const base = { baseSteps: () => 1 };
    // the RUN was edited after the build: that step matches nothing; the classic COPY beside it, which
    // only its destination and no layer paths check, stands with no exact neighbour and is left too
    const edited = CLASSIC_FINAL.map((r) => r[0]).map((c) => c.replace('cat /out/x.txt', 'cat /out/y.txt'));
    const m1 = matchHistory(df, edited, base);
    const runStep = CLASSIC_FINAL.findIndex((r) => r[1] === 'RUN cat');
    expect(m1.steps[runStep]!.kind).toBe('unmatched');
    expect(m1.steps[runStep - 1]!.kind).toBe('unmatched');
    for (const [j, s] of m1.steps.entries()) if (s.kind === 'instruction') expect(s.ins.line).toBe(lineOf(PROBE, CLASSIC_FINAL[j]![1], FINAL));
    expect(m1.steps[0]!.kind).toBe('base'); // the base image's length is known
    expect(matchHistory(df, edited).steps[0]!.kind).toBe('unmatched'); // and without it, it is not guessed
    // a step the Dockerfile does not have: it stays unmatched, the rest keep their lines
    const inserted = [...CLASSIC_FINAL.map((r) => r[0])];
    inserted.splice(2, 0, '/bin/sh -c #(nop)  USER nobody');
    const m2 = matchHistory(df, inserted, base);
    expect(m2.steps[2]!.kind).toBe('unmatched');
    for (const [j, s] of m2.steps.entries()) if (s.kind === 'instruction') expect(s.ins.line).toBe(lineOf(PROBE, CLASSIC_FINAL[j > 2 ? j - 1 : j]![1], FINAL));
    // a history from some other Dockerfile: nothing matches
    const other = matchHistory(df, ['', '|1 X=1 /bin/sh -c make', '/bin/sh -c #(nop)  CMD ["make"]']);
    expect(other.target).toBeUndefined();
    expect(other.steps.every((s) => s.kind === 'unmatched')).toBe(true);
  });

  it('an instruction removed since the build: its step is never taken for the base image (review 15, 1)', () => {
    const text = 'FROM imgscope/debian-base:bookworm\nRUN echo b > /b\nRUN echo c > /c\n';
    const df = parseDockerfile(text, 'Dockerfile');
    const history = ['', '/bin/sh -c mkdir -p /root/.aws && echo "k" > /root/.aws/credentials', '/bin/sh -c echo b > /b', '/bin/sh -c echo c > /c'];
    const kinds = (m: ReturnType<typeof matchHistory>) => m.steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind));
    // nothing tells where the base image ends: its step and the removed one stay unmatched
    expect(kinds(matchHistory(df, history))).toEqual(['unmatched', 'unmatched', lineOf(text, 'echo b'), lineOf(text, 'echo c')]);
    // the base image's own history (one entry) tells it
    expect(kinds(matchHistory(df, history, { baseSteps: () => 1 }))).toEqual(['base', 'unmatched', lineOf(text, 'echo b'), lineOf(text, 'echo c')]);
    // the old rule's case: the history's instruction count equals the Dockerfile's, but not the base's
    const removed = parseDockerfile('FROM x\nRUN a\nRUN b\n', 'Dockerfile');
    expect(matchHistory(removed, ['', '/bin/sh -c a', '/bin/sh -c c', '/bin/sh -c b']).steps.map((s) => s.kind)).toEqual(['unmatched', 'unmatched', 'unmatched', 'instruction']);
  });

  it('a FROM image not known (a build argument): a candidate base length is taken only with a perfect pairing', () => {
    const text = 'ARG BASE=python:3.11\nFROM ${BASE}\nRUN echo b > /b\nRUN echo c > /c\n';
    const df = parseDockerfile(text, 'Dockerfile');
    const kinds = (h: string[], c: number[]) => matchHistory(df, h, { baseCandidates: c }).steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind));
    const own = ['/bin/sh -c echo b > /b', '/bin/sh -c echo c > /c'];
    // the tagged images the history starts with are 1 and 2 entries long: 2 leaves exactly the Dockerfile's steps
    expect(kinds(['', '/bin/sh -c #(nop)  CMD ["bash"]', ...own], [1, 2])).toEqual(['base', 'base', lineOf(text, 'echo b'), lineOf(text, 'echo c')]);
    // an instruction removed since the build: no candidate leaves a perfect pairing, so no base is taken
    expect(kinds(['', '/bin/sh -c echo secret > /s', ...own], [1])).toEqual(['unmatched', 'unmatched', lineOf(text, 'echo b'), lineOf(text, 'echo c')]);
  });

  it('repeated text after an insertion: pairs only where every best alignment agrees (review 15, 3)', () => {
    const built = ['a', 'b', 'a', 'b', 'c'].map((x) => `RUN echo ${x} >> /log`);
    const text = `FROM imgscope/debian-base:bookworm\n${[...built, 'RUN echo x >> /log', 'RUN echo y >> /log'].join('\n')}\n`;
    const df = parseDockerfile(text, 'Dockerfile');
    const history = ['', ...built.map((r) => `/bin/sh -c ${r.slice(4)}`)];
    // lines of the built instructions, by position in the text (2..6), computed from the text itself
    const lines = text.split('\n').map((l, i) => [l, i + 1] as const).filter(([l]) => built.includes(l)).map(([, n]) => n);
    for (const ev of [{}, { baseSteps: () => 1 }]) {
      const m = matchHistory(df, history, ev);
      expect(m.steps.slice(1).map((s) => (s.kind === 'instruction' ? s.ins.line : 0))).toEqual(lines);
    }
    // a Dockerfile holding the built pair twice over, history holding it once: either reading fits, neither is given
    const twice = parseDockerfile('FROM x\nRUN a\nRUN b\nRUN a\nRUN b\n', 'Dockerfile');
    expect(matchHistory(twice, ['', '/bin/sh -c a', '/bin/sh -c b'], { baseSteps: () => 1 }).matched).toBe(0);
  });

  it('stages that pair equally well on different lines: ambiguous, nothing matched (review 15, 4)', () => {
    const secret = 'mkdir -p /root/.aws && echo k > /root/.aws/credentials';
    const text = `FROM imgscope/debian-base:bookworm AS builder\nRUN ${secret}\nRUN echo a > /a\n\nFROM imgscope/debian-base:bookworm\nRUN ${secret}\nRUN echo a > /a\n`;
    const df = parseDockerfile(text, 'Dockerfile');
    const history = ['', `/bin/sh -c ${secret}`, '/bin/sh -c echo a > /a'];
    const m = matchHistory(df, history, { baseSteps: () => 1 });
    expect(m.target).toBeUndefined();
    expect(m.ambiguous?.map((s) => s.name ?? String(s.index))).toEqual(['builder', '1']);
    expect(m.steps.every((s) => s.kind === 'unmatched')).toBe(true);
    const a = makeAnalysis({ reference: 'x', imageBytes: 3, steps: history.map((c) => [c, 1] as [string, number]) });
    locate(a, df, undefined, { baseSteps: new Map([[0, 1], [1, 1]]) });
    expect(a.warnings.join('\n')).toContain('ambiguous: stages builder and 1');
    expect(a.history.every((h) => h.dockerfile === undefined)).toBe(true);
  });
});

describe('classic COPY records checked on the layer (review 15, 2)', () => {
  const df1 = 'FROM imgscope/debian-base:bookworm\nWORKDIR /app\nCOPY requirements.txt /app/\nRUN echo built > /app/built.txt\nCOPY . /app/\n';
  const history = ['', '/bin/sh -c #(nop) WORKDIR /app', `/bin/sh -c #(nop) COPY file:${'0'.repeat(64)} in /app/ `, '/bin/sh -c echo built > /app/built.txt', `/bin/sh -c #(nop) COPY dir:${'8'.repeat(64)} in /app/ `];
  // what each layer holds (the context: requirements.txt, main.py, config.yml, .env)
  const ctx = ['requirements.txt', 'main.py', 'config.yml', '.env', 'Dockerfile'];
  const summary = (paths: string[]) => ({ count: paths.length, paths, under: paths.map((p) => p.slice(0, p.lastIndexOf('/'))).reduce((a, b) => (a === b ? a : '')) });
  const layers = [summary(['etc/os-release']), undefined, summary(['app/requirements.txt']), summary(['app/built.txt']), summary(ctx.map((f) => `app/${f}`))];
  const lines = (text: string, ev: MatchEvidence = { layers, baseSteps: () => 1 }) => matchHistory(parseDockerfile(text, 'Dockerfile'), history, ev).steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind));

  it('the right Dockerfile: every step on its line', () => {
    expect(lines(df1)).toEqual(['base', 2, 3, 4, 5]);
  });

  it('a COPY appended after the build does not take the directory COPY (a: the secret stays off line 6)', () => {
    const got = lines(`${df1}COPY config.yml /app/\n`);
    expect(got.slice(0, 4)).toEqual(['base', 2, 3, 4]);
    expect(got[4]).not.toBe(6);
  });

  it('a single-file COPY of another file is not the one that made the layer (b)', () => {
    expect(lines(df1.replace('COPY requirements.txt', 'COPY main.py'))[2]).toBe('unmatched');
  });

  it('a single file copied to a new name, and a glob source, check on the path the layer holds', () => {
    const text = 'FROM x\nWORKDIR /app\nCOPY app.py /app/main.py\nCOPY conf/*.yml ./\nCMD ["x"]\n';
    const h = ['', '/bin/sh -c #(nop) WORKDIR /app', `/bin/sh -c #(nop) COPY file:${'1'.repeat(64)} in /app/main.py `, `/bin/sh -c #(nop) COPY file:${'2'.repeat(64)} in ./ `, '/bin/sh -c #(nop)  CMD ["x"]'];
    const at = (p: string) => ({ count: 1, paths: [p], under: p.slice(0, p.lastIndexOf('/')) });
    const run = (l2: string, l3: string) => matchHistory(parseDockerfile(text, 'Dockerfile'), h, { layers: [undefined, undefined, at(l2), at(l3), undefined], baseSteps: () => 1 }).steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind));
    expect(run('app/main.py', 'app/a.yml')).toEqual(['base', 2, lineOf(text, 'COPY app.py'), lineOf(text, 'COPY conf'), lineOf(text, 'CMD')]);
    expect(run('app/app.py', 'app/a.json')).toEqual(['base', 2, 'unmatched', 'unmatched', lineOf(text, 'CMD')]);
  });

  it('a directory COPY beside an edited step: confirmed only by the build context holding its files', () => {
    const edited = df1.replace('echo built', 'echo rebuilt');
    const copyDot = lineOf(df1, 'COPY . /app/');
    // no neighbour checks exactly and nothing confirms which directory was copied: unmatched
    expect(lines(edited)[4]).toBe('unmatched');
    // the context (the Dockerfile's directory) holds every file of the layer under the source
    expect(lines(edited, { layers, baseSteps: () => 1, context: contextOf(Object.fromEntries(ctx.map((f) => [f, null]))) })[4]).toBe(copyDot);
    // a context that lacks one of them does not confirm it
    expect(lines(edited, { layers, baseSteps: () => 1, context: contextOf(Object.fromEntries(ctx.slice(1).map((f) => [f, null]))) })[4]).toBe('unmatched');
    // and a COPY of another directory is not confirmed by files at the context's top
    expect(lines(edited.replace('COPY . /app/', 'COPY src/ /app/'), { layers, baseSteps: () => 1, context: contextOf(Object.fromEntries(ctx.map((f) => [f, null]))) })[4]).toBe('unmatched');
  });

  it("another project's Dockerfile with the same destinations matches nothing (c)", () => {
    const other = 'FROM node:20\nWORKDIR /app\nCOPY package.json /app/\nRUN npm ci\nCOPY . /app/\n';
    // node:20 is not the image's base: no base length is known
    expect(lines(other, { layers, baseSteps: () => undefined })).toEqual(history.map(() => 'unmatched'));
    expect(lines(`${other}CMD ["node","index.js"]\n`, { layers, baseSteps: () => undefined })).toEqual(history.map(() => 'unmatched'));
  });
});

describe('classic directory COPYs told apart by their files, or left unmatched (review 15b)', () => {
  const dir = (dest: string, h: string) => `/bin/sh -c #(nop) COPY dir:${h.repeat(64)} in ${dest} `;
  const at = (text: string, history: string[], ev: MatchEvidence) => matchHistory(parseDockerfile(text, 'Dockerfile'), history, ev).steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind));

  // 1: COPY a/ /app/ then COPY b/ /app/, the same file name under both, swapped in the Dockerfile after the build
  const built1 = 'FROM imgscope/debian-base:bookworm\nRUN echo one > /one.txt\nCOPY a/ /app/\nCOPY b/ /app/\nRUN echo two > /two.txt\n';
  const swapped1 = built1.replace('COPY a/ /app/\nCOPY b/ /app/', 'COPY b/ /app/\nCOPY a/ /app/');
  const history1 = ['', '/bin/sh -c echo one > /one.txt', dir('/app/', 'a'), dir('/app/', 'b'), '/bin/sh -c echo two > /two.txt'];
  const layers1 = [layerOf({ 'etc/os-release': 100 }), layerOf({ 'one.txt': 4 }), layerOf({ 'app/x.py': 4 }), layerOf({ 'app/x.py': 9 }), layerOf({ 'two.txt': 4 })];

  it('1: two directory COPYs swapped after the build: the context sizes refute each on the other line; never the wrong line', () => {
    const context = contextOf({ 'a/x.py': 4, 'b/x.py': 9 });
    const swapped = at(swapped1, history1, { layers: layers1, baseSteps: () => 1, context });
    expect(swapped).toEqual(['base', lineOf(swapped1, 'echo one'), 'unmatched', 'unmatched', lineOf(swapped1, 'echo two')]);
    // without the context (the Dockerfile elsewhere): the two look alike, neither is given
    expect(at(swapped1, history1, { layers: layers1, baseSteps: () => 1 }).slice(2, 4)).toEqual(['unmatched', 'unmatched']);
    // the context with the same sizes under both: alike again, neither is given
    expect(at(swapped1, history1, { layers: layers1.map((l, k) => (k === 3 ? layerOf({ 'app/x.py': 4 }) : l)), baseSteps: () => 1, context: contextOf({ 'a/x.py': 4, 'b/x.py': 4 }) }).slice(2, 4)).toEqual(['unmatched', 'unmatched']);
    // the Dockerfile it was built from, its context beside it: each COPY on its line
    expect(at(built1, history1, { layers: layers1, baseSteps: () => 1, context })).toEqual(['base', 2, lineOf(built1, 'COPY a/'), lineOf(built1, 'COPY b/'), 5]);
  });

  // 2: COPY . /src/ edited to COPY src/ /src/ after the build
  const built2 = 'FROM imgscope/debian-base:bookworm\nWORKDIR /work\nCOPY . /src/\nRUN echo done\n';
  const edited2 = built2.replace('COPY . /src/', 'COPY src/ /src/');
  const history2 = ['', '/bin/sh -c #(nop) WORKDIR /work', dir('/src/', 'c'), '/bin/sh -c echo done'];
  const layers2 = [layerOf({ 'etc/os-release': 100 }), undefined, layerOf({ 'src/Dockerfile': 90, 'src/src/m.py': 3 }), undefined];

  it('2: a directory COPY whose source was edited: the context refutes the new source; the old one it confirms', () => {
    const context = contextOf({ Dockerfile: 90, 'src/m.py': 3 });
    expect(at(edited2, history2, { layers: layers2, baseSteps: () => 1, context })).toEqual(['base', 2, 'unmatched', 4]);
    expect(at(built2, history2, { layers: layers2, baseSteps: () => 1, context })).toEqual(['base', 2, 3, 4]);
    // a source the context does not hold at all
    expect(at(built2.replace('COPY . ', 'COPY lib/ '), history2, { layers: layers2, baseSteps: () => 1, context })[2]).toBe('unmatched');
    // a context whose file has another size than the layer's (the file the layer holds is not this one)
    expect(at(built2, history2, { layers: layers2, baseSteps: () => 1, context: contextOf({ Dockerfile: 91, 'src/m.py': 3 }) })[2]).toBe('unmatched');
  });

  it('2: a context elsewhere (cpu-naive: the Dockerfile directory holds only the Dockerfile, copied in too): neither confirms nor refutes', () => {
    const text = 'FROM imgscope/debian-base:bookworm\nWORKDIR /app\nCOPY . /app\nRUN python3 train.py\n';
    const history = ['', '/bin/sh -c #(nop) WORKDIR /app', dir('/app ', 'd'), '/bin/sh -c python3 train.py'];
    const layers = [layerOf({ 'etc/os-release': 100 }), undefined, layerOf({ 'app/Dockerfile': 300, 'app/main.py': 10, 'app/train.py': 20 }), layerOf({ 'app/model.bin': 5 })];
    // the only directory COPY of the chain, between two exact steps: given
    expect(at(text, history, { layers, baseSteps: () => 1, context: contextOf({ Dockerfile: 300 }) })).toEqual(['base', 2, 3, 4]);
  });

  // 3: COPY --from=builder /out/a/ and /out/b/ swapped after the build, an exact ENV before them
  const built3 = 'FROM imgscope/debian-base:bookworm AS builder\nRUN mkdir -p /out/a /out/b\nFROM imgscope/debian-base:bookworm\nENV APP_V=2\nCOPY --from=builder /out/a/ /app/\nCOPY --from=builder /out/b/ /app/\nRUN echo done\n';
  const swapped3 = built3.replace('COPY --from=builder /out/a/ /app/\nCOPY --from=builder /out/b/ /app/', 'COPY --from=builder /out/b/ /app/\nCOPY --from=builder /out/a/ /app/');
  const history3 = ['', '/bin/sh -c #(nop)  ENV APP_V=2', dir('/app/', 'a'), dir('/app/', 'b'), '/bin/sh -c echo done'];
  const layers3 = [layerOf({ 'etc/os-release': 100 }), undefined, layerOf({ 'app/f': 3 }), layerOf({ 'app/f': 5 }), undefined];

  it('3: two COPY --from of directories swapped: nothing tells them apart, so an exact neighbour does not keep either', () => {
    for (const text of [swapped3, built3]) {
      const got = at(text, history3, { layers: layers3, baseSteps: () => 1, context: contextOf({}) });
      expect(got).toEqual(['base', lineOf(text, 'ENV APP_V'), 'unmatched', 'unmatched', lineOf(text, 'echo done')]);
    }
    // one such COPY alone between exact steps is given
    const one = built3.replace('COPY --from=builder /out/b/ /app/\n', '');
    expect(at(one, history3.filter((_h, k) => k !== 3), { layers: layers3.filter((_l, k) => k !== 3), baseSteps: () => 1 })).toEqual(['base', lineOf(one, 'ENV'), lineOf(one, 'COPY --from'), lineOf(one, 'echo done')]);
  });

  it('a single-file COPY whose context file has another size than the layer holds is not given', () => {
    const text = 'FROM x\nCOPY a/x.py /app/\nCOPY b/x.py /app/\nCMD ["x"]\n';
    const history = ['', `/bin/sh -c #(nop) COPY file:${'1'.repeat(64)} in /app/ `, `/bin/sh -c #(nop) COPY file:${'2'.repeat(64)} in /app/ `, '/bin/sh -c #(nop)  CMD ["x"]'];
    const layers = [undefined, layerOf({ 'app/x.py': 9 }), layerOf({ 'app/x.py': 4 }), undefined];
    // built from b/x.py then a/x.py (sizes 9, 4), the Dockerfile now says a then b: refuted by the sizes
    expect(at(text, history, { layers, baseSteps: () => 1, context: contextOf({ 'a/x.py': 4, 'b/x.py': 9 }) })).toEqual(['base', 'unmatched', 'unmatched', 4]);
    // and without a context, the two are alike: neither is given
    expect(at(text, history, { layers, baseSteps: () => 1 })).toEqual(['base', 'unmatched', 'unmatched', 4]);
  });
});

describe('the build context beside the Dockerfile', () => {
  it('lists a source: files with their sizes (the Dockerfile itself without), a file, missing, outside or a link: unknown', () => {
    const d = tmpDir('imgscope-ctx-');
    mkdirSync(path.join(d, 'src', 'deep'), { recursive: true });
    writeFileSync(path.join(d, 'Dockerfile'), 'FROM x\n');
    writeFileSync(path.join(d, 'src', 'm.py'), 'abc');
    writeFileSync(path.join(d, 'src', 'deep', 'n.py'), 'abcdefg');
    symlinkSync('m.py', path.join(d, 'src', 'link.py'));
    symlinkSync('src', path.join(d, 'srclink'));
    const ctx = contextProbe(path.join(d, 'Dockerfile'));
    expect(ctx.read('src')).toEqual({ kind: 'dir', files: new Map<string, number | null>([['m.py', 3], ['deep/n.py', 7], ['link.py', null]]) });
    const root = ctx.read('');
    expect(root.kind).toBe('dir');
    // the Dockerfile may have been edited since the build: its size is not compared
    expect(root.kind === 'dir' && root.files.get('Dockerfile')).toBeNull();
    expect(root.kind === 'dir' && root.files.get('src/deep/n.py')).toBe(7);
    expect(ctx.read('src/m.py')).toEqual({ kind: 'file', size: 3 });
    expect(ctx.read('lib')).toEqual({ kind: 'missing' });
    expect(ctx.read('srclink')).toEqual({ kind: 'unknown' });
    expect(ctx.read('../outside')).toEqual({ kind: 'unknown' });
  });
});

describe('locations on the report', () => {
  const text = 'FROM debian\nWORKDIR /app\nCOPY . /app\nRUN rm /app/.env\nCMD ["app"]\n';
  const report = (cmd: string, evidence = true) => {
    const a = makeAnalysis({
      reference: 'x',
      imageBytes: 4,
      steps: [['', 1], ['/bin/sh -c #(nop) WORKDIR /app', 0], [`/bin/sh -c #(nop) COPY dir:${'a'.repeat(64)} in /app `, 2], ['/bin/sh -c rm /app/.env', 1]],
    });
    a.history.push({ createdBy: `/bin/sh -c #(nop)  CMD ${cmd}`, emptyLayer: true, layer: null });
    a.findings = [
      { id: 'secrets-in-image', severity: 'high', title: 't', savingBytes: null, fix: 'f', evidence: { items: [{ path: 'app/.env', layer: 2, deletedIn: 3, visible: false }] } },
      { id: 'layer-order', severity: 'low', title: 't', savingBytes: null, fix: 'f', evidence: { steps: [2, 3] } },
      { id: 'runs-as-root', severity: 'low', title: 't', savingBytes: null, fix: 'f', evidence: {} },
    ];
    // the base image is one entry long (as the daemon's history of `debian` would tell), the COPY's layer holds app/.env
    const copyLayer = a.history[2]!.layer!;
    const layerPaths = a.layers.map((_l, i) => (i === copyLayer ? { count: 1, paths: ['app/.env'], under: 'app' } : undefined));
    locate(a, parseDockerfile(text, 'ci/Dockerfile'), undefined, evidence ? { baseSteps: new Map([[0, 1]]), layerPaths } : {});
    expectSchemaValid(a);
    return a;
  };

  it('puts the lines on history steps and layers, FROM on the base image', () => {
    const a = report('["app"]');
    expect(a.layers.map((l) => l.dockerfile?.line)).toEqual([lineOf(text, 'FROM'), lineOf(text, 'WORKDIR'), lineOf(text, 'COPY'), lineOf(text, 'RUN rm')]);
    expect(a.layers[0]!.dockerfile).toMatchObject({ file: 'ci/Dockerfile', instruction: 'FROM', stage: '0' });
    expect(a.history[4]!.dockerfile).toMatchObject({ line: lineOf(text, 'CMD'), endLine: lineOf(text, 'CMD'), instruction: 'CMD' });
    expect(a.dockerfile).toEqual({ file: 'ci/Dockerfile', stage: '0', matched: 4, baseImage: 1, unmatched: [] });
  });

  it('lists the steps that match nothing (an edited CMD); without the base image known, nothing is anchored', () => {
    const a = report('["other"]');
    expect(a.history[4]!.dockerfile).toBeUndefined();
    expect(a.layers[0]!.dockerfile).toMatchObject({ instruction: 'FROM' });
    expect(a.dockerfile).toEqual({ file: 'ci/Dockerfile', stage: '0', matched: 3, baseImage: 1, unmatched: [{ step: 4, createdBy: '/bin/sh -c #(nop)  CMD ["other"]' }] });
    // no base length and the image's last step unmatched: where the Dockerfile's steps begin is unknown
    const b = report('["other"]', false);
    expect(b.dockerfile).toMatchObject({ matched: 0, baseImage: 0 });
    expect(b.dockerfile!.unmatched.map((u) => u.step)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a finding is located at its first step, or at the layer that added its file (not the one that deleted it)', () => {
    const copy = lineOf(text, 'COPY');
    expect(report('["app"]').findings.map((f) => f.location)).toEqual([{ file: 'ci/Dockerfile', line: copy, endLine: copy }, { file: 'ci/Dockerfile', line: copy, endLine: copy }, undefined]);
  });
});

describe('views', () => {
  it('table, Markdown and HTML show the Dockerfile column, the line beside each located finding, and the unmatched note', async () => {
    const { renderAnalysisMarkdown, renderAnalysisTable } = await import('../../src/render/analyze.js');
    const { renderAnalysisHtml } = await import('../../src/render/html.js');
    const text = 'FROM debian\nCOPY . /app\nRUN rm /app/.env \\\n && true\n';
    const a = makeAnalysis({ reference: 'x', imageBytes: 3, steps: [['', 1], [`/bin/sh -c #(nop) COPY dir:${'b'.repeat(64)} in /app `, 1], ['/bin/sh -c make', 1]] });
    a.findings = [{ id: 'secrets-in-image', severity: 'high', title: 'Secrets ship', savingBytes: null, fix: 'f', evidence: { items: [{ path: 'app/.env', layer: 1 }] } }];
    locate(a, parseDockerfile(text, 'Dockerfile'), undefined, { baseSteps: new Map([[0, 1]]), layerPaths: [undefined, { count: 1, paths: ['app/.env'], under: 'app' }] });
    const copy = `Dockerfile:${lineOf(text, 'COPY')}`;
    for (const out of [renderAnalysisTable(a), renderAnalysisMarkdown(a), renderAnalysisHtml([a], 15)]) {
      expect(out).toContain(`at`);
      expect(out.split(copy).length - 1).toBeGreaterThanOrEqual(2); // the layer row and the finding
      expect(out).toMatch(/1 step matches no instruction/);
      expect(out).toContain('no match'); // the RUN layer: `make` is not this Dockerfile's RUN
    }
  });
});

describe('--dockerfile errors', () => {
  it('a missing, unreadable or malformed Dockerfile is one line naming it, exit 2', async () => {
    const { readDockerfile } = await import('../../src/dockerfile/read.js');
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const os = await import('node:os');
    const dir = mkdtempSync(`${os.tmpdir()}/imgscope-df-`);
    try {
      writeFileSync(`${dir}/Dockerfile`, 'RUN echo no from\n');
      for (const [p, re] of [[`${dir}/none`, /cannot read: ENOENT/], [dir, /not a regular file/], [`${dir}/Dockerfile`, /line 1: RUN before the first FROM/]] as const) {
        let err: { exitCode?: number; message: string } | undefined;
        try {
          readDockerfile(p);
        } catch (e) {
          err = e as { exitCode?: number; message: string };
        }
        expect(err?.exitCode).toBe(2);
        expect(err?.message).toMatch(re);
        expect(err?.message.startsWith(`--dockerfile ${p}: `)).toBe(true);
        expect(err?.message).not.toContain('\n');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('review 15c: wrong lines and failures found after the ranked verdicts', () => {
  const at = (text: string, history: string[], ev: MatchEvidence = {}) => matchHistory(parseDockerfile(text, 'Dockerfile'), history, ev).steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind));
  const hex = (c: string) => c.repeat(64);

  it('W4: a legacy COPY --chown record (`--chown=app:appdir:<hash>`): its kind is read, so the context and file checks apply', () => {
    // several sources: the layer holds both names under DEST
    const multi = 'FROM x\nRUN echo a\nCOPY --chown=app:app a.txt b.txt /app/\nRUN echo b\n';
    const hMulti = ['', '/bin/sh -c echo a', `/bin/sh -c #(nop) COPY --chown=app:appmulti:${hex('1')} in /app/ `, '/bin/sh -c echo b'];
    const lMulti = [undefined, undefined, layerOf({ 'app/a.txt': 1, 'app/b.txt': 2 }), undefined];
    expect(at(multi, hMulti, { layers: lMulti, baseSteps: () => 1 })).toEqual(['base', 2, 3, 4]);
    // a directory COPY edited after the build (src/ became lib/): the context's lib/ holds the layer's name with another size
    const dir = 'FROM x\nRUN echo a\nCOPY --chown=app:app lib/ /app/\nRUN echo b\n';
    const hDir = ['', '/bin/sh -c echo a', `/bin/sh -c #(nop) COPY --chown=app:appdir:${hex('2')} in /app/ `, '/bin/sh -c echo b'];
    const lDir = [undefined, undefined, layerOf({ 'app/m.py': 3 }), undefined];
    const context = contextOf({ 'src/m.py': 3, 'lib/m.py': 30 });
    expect(at(dir, hDir, { layers: lDir, baseSteps: () => 1, context })).toEqual(['base', 2, 'unmatched', 4]);
    expect(at(dir.replace('lib/', 'src/'), hDir, { layers: lDir, baseSteps: () => 1, context })).toEqual(['base', 2, 3, 4]);
  });
  it('W2: an edited final stage does not hand its steps to a builder stage holding the same RUNs', () => {
    const built = "FROM base AS build\nRUN echo certs > /etc/bundle\nRUN echo 'deb x' > /etc/extra.list\nRUN mkdir /out && echo bin > /out/app\n\nFROM base\nRUN echo certs > /etc/bundle\nRUN echo 'deb x' > /etc/extra.list\nCOPY --from=build /out /opt/app\n";
    const edited = built.replace("RUN echo 'deb x' > /etc/extra.list\nCOPY", "RUN echo 'deb y' > /etc/extra.list\nCOPY");
    const history = ['', '/bin/sh -c echo certs > /etc/bundle', "/bin/sh -c echo 'deb x' > /etc/extra.list", `/bin/sh -c #(nop) COPY dir:${hex('3')} in /opt/app `];
    const layers = [undefined, layerOf({ 'etc/bundle': 6 }), layerOf({ 'etc/extra.list': 6 }), layerOf({ 'opt/app/app': 4 })];
    const finalFrom = lineOf(built, 'FROM base', 2);
    // the Dockerfile it was built from: the final stage's lines
    expect(at(built, history, { layers, baseSteps: () => 1 })).toEqual(['base', finalFrom + 1, finalFrom + 2, finalFrom + 3]);
    // one RUN of the final stage edited: the builder's chain pairs more entries but ends in a RUN where the
    // image ends in a COPY: not this image's stage; the final stage's unedited RUN keeps its line
    const got = matchHistory(parseDockerfile(edited, 'Dockerfile'), history, { layers, baseSteps: () => 1 });
    expect(got.target?.index).toBe(1);
    expect(got.steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind))).toEqual(['base', finalFrom + 1, 'unmatched', 'unmatched']);
    // c4: USER and CMD edited too, the builder's useradd line equal to the image's: never the builder's lines
    const c4 = 'FROM base AS builder\nRUN mkdir -p /etc/ssl\nRUN useradd -m app\nRUN mkdir /out\n\nFROM base\nRUN mkdir -p /etc/ssl\nRUN useradd -m -u 10001 app\nCOPY --from=builder /out /opt/app\nUSER 10001\nCMD ["/opt/app/app", "--serve"]\n';
    const h4 = ['', '/bin/sh -c mkdir -p /etc/ssl', '/bin/sh -c useradd -m app', `/bin/sh -c #(nop) COPY dir:${hex('4')} in /opt/app `, '/bin/sh -c #(nop)  USER app', '/bin/sh -c #(nop)  CMD ["/opt/app/app"]'];
    const l4 = [undefined, layerOf({ 'etc/ssl/x': 1 }), layerOf({ 'etc/passwd': 1 }), layerOf({ 'opt/app/app': 4 }), undefined, undefined];
    expect(at(c4, h4, { layers: l4, baseSteps: () => 1 })).toEqual(['base', lineOf(c4, 'RUN mkdir -p /etc/ssl', 6), 'unmatched', 'unmatched', 'unmatched', 'unmatched']);
  });

  it('W2: an entry that another possible target stage pairs with another line is left unmatched', () => {
    // two stages from one base, both ending in a RUN: either could have made the image; the first RUN is in both
    const text = 'FROM base AS a\nRUN echo common\nRUN echo a-only\nRUN echo x\n\nFROM base AS b\nRUN echo common\nRUN echo b-edited\nRUN echo tail\n';
    const history = ['', '/bin/sh -c echo common', '/bin/sh -c echo b-original', '/bin/sh -c echo tail'];
    expect(at(text, history, { baseSteps: () => 1 })).toEqual(['base', 'unmatched', 'unmatched', lineOf(text, 'echo tail')]);
  });
  it('W1: a build context that is not the Dockerfile\'s folder (docker build -f docker/Dockerfile .): no context evidence, never the wrong COPY', () => {
    const text = 'FROM base\nWORKDIR /app\nCOPY . /app/\n# container-only files on top\nCOPY docker/ /app/\nRUN rm -f /app/Dockerfile\nCMD ["python3", "src/main.py"]\n';
    const history = ['', '/bin/sh -c #(nop) WORKDIR /app', `/bin/sh -c #(nop) COPY dir:${hex('5')} in /app/ `, `/bin/sh -c #(nop) COPY dir:${hex('6')} in /app/ `, '/bin/sh -c rm -f /app/Dockerfile', '/bin/sh -c #(nop)  CMD ["python3" "src/main.py"]'];
    // the build context (the project root) holds docker/{Dockerfile,settings.py,entrypoint.sh}, settings.py, src/main.py
    const layers = [undefined, undefined, layerOf({ 'app/docker/Dockerfile': 150, 'app/docker/settings.py': 20, 'app/docker/entrypoint.sh': 30, 'app/settings.py': 11, 'app/src/main.py': 12 }), layerOf({ 'app/Dockerfile': 150, 'app/settings.py': 20, 'app/entrypoint.sh': 30 }), undefined, undefined];
    // what the Dockerfile's folder (docker/) holds, read as if it were the context
    const context = contextOf({ Dockerfile: null, 'settings.py': 20, 'entrypoint.sh': 30 });
    expect(at(text, history, { layers, baseSteps: () => 1, context })).toEqual(['base', 2, 'unmatched', 'unmatched', lineOf(text, 'RUN rm'), lineOf(text, 'CMD')]);
  });

  it('a COPY source holding a build variable (`COPY ${SRC}/ ./`) is not looked up in the context: no evidence, not a refutation', () => {
    const text = 'FROM base\nARG SRC=src\nWORKDIR /srv\nWORKDIR app\nCOPY ${SRC}/ ./\nCOPY src/m.py m2.py\nCMD ["true"]\n';
    const history = ['', '/bin/sh -c #(nop)  ARG SRC=src', '/bin/sh -c #(nop) WORKDIR /srv', '/bin/sh -c #(nop) WORKDIR /srv/app', `/bin/sh -c #(nop) COPY dir:${hex('7')} in ./ `, `/bin/sh -c #(nop) COPY file:${hex('8')} in m2.py `, '/bin/sh -c #(nop)  CMD ["true"]'];
    const layers = [undefined, undefined, undefined, undefined, layerOf({ 'srv/app/m.py': 3 }), layerOf({ 'srv/app/m2.py': 3 }), undefined];
    expect(at(text, history, { layers, baseSteps: () => 1, context: contextOf({ Dockerfile: null, 'src/m.py': 3 }) })).toEqual(['base', 2, 3, 4, 5, 6, 7]);
  });
  it('R2: a RUN (or ENV) of tens of kilobytes is matched by its text, never an error', () => {
    const cmd = Array.from({ length: 6000 }, (_x, k) => `echo ${k}`).join(' && '); // ~60 KB of regex-special text
    expect(cmd.length).toBeGreaterThan(60_000);
    const big = `"${'(x)*+?'.repeat(20_000)}"`;
    const text = `FROM base\nARG V=1\nRUN ${cmd}\nENV BIG=${big}\nRUN ${cmd} && echo ${big}\nCMD ["x"]\n`;
    const history = ['', '/bin/sh -c #(nop)  ARG V=1', `|1 V=1 /bin/sh -c ${cmd}`, `/bin/sh -c #(nop)  ENV BIG=${big.slice(1, -1)}`, `|1 V=1 /bin/sh -c ${cmd} && echo ${big}`, '/bin/sh -c #(nop)  CMD ["x"]'];
    const got = at(text, history, { baseSteps: () => 1 });
    // the two RUNs by their text (the ENV's regex may be too large to check: then it is unmatched, not an error)
    expect([got[0], got[1], got[2], got[4], got[5]]).toEqual(['base', 2, 3, 5, 6]);
    expect([4, 'unmatched']).toContain(got[3]);
    // a RUN whose text differs by its last character is not its line
    expect(at(text.replace(`RUN ${cmd}\n`, `RUN ${cmd}9\n`), history, { baseSteps: () => 1 })[2]).toBe('unmatched');
  });
  it('W3: a FROM whose variable names a stage (`FROM ${VARIANT}`, built with --build-arg VARIANT=full): only the lines every parent agrees on', () => {
    const text = 'ARG VARIANT=slim\nFROM base AS slim\nLABEL flavor=slim\nRUN echo common > /etc/common\n\nFROM base AS full\nLABEL flavor=full\nRUN echo common > /etc/common\nRUN echo extra > /etc/extra\n\nFROM ${VARIANT}\nRUN echo app > /app\nRUN chmod 644 /app\nCMD ["cat", "/app"]\n';
    const history = ['', '/bin/sh -c #(nop)  LABEL flavor=full', '/bin/sh -c echo common > /etc/common', '/bin/sh -c echo extra > /etc/extra', '/bin/sh -c echo app > /app', '/bin/sh -c chmod 644 /app', '/bin/sh -c #(nop)  CMD ["cat" "/app"]'];
    // the base image is known for the stages FROM base (one entry); the variable's image is not
    const df = parseDockerfile(text, 'Dockerfile');
    const got = matchHistory(df, history, { baseSteps: (root) => (root.base === 'base' ? 1 : undefined) });
    expect(got.target?.from.line).toBe(lineOf(text, 'FROM ${VARIANT}'));
    // the slim stage (the default) would put the common RUN and the base image on its lines: not given
    expect(got.steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind))).toEqual(['unmatched', 'unmatched', 'unmatched', 'unmatched', lineOf(text, 'echo app'), lineOf(text, 'chmod'), lineOf(text, 'CMD')]);
  });
  it('R1: 4,000 chained stages (`FROM s{i-1} AS s{i}`): each chain read once, the image on the last stage\'s lines', () => {
    let text = 'FROM base AS s0\nRUN echo 0\n';
    for (let i = 1; i < 4000; i++) text += `FROM s${i - 1} AS s${i}\nRUN echo ${i}\n`;
    // an image built with --target s7: its base entry, then one RUN per stage up to s7
    const history = ['', ...Array.from({ length: 8 }, (_x, i) => `/bin/sh -c echo ${i}`)];
    const t0 = performance.now();
    const got = matchHistory(parseDockerfile(text, 'Dockerfile'), history, { baseSteps: () => 1 });
    console.log(`4000 chained stages: ${Math.round(performance.now() - t0)} ms`);
    expect(got.target?.name).toBe('s7');
    const lines = got.steps.map((s) => (s.kind === 'instruction' ? s.ins.line : s.kind));
    expect(lines).toEqual(['base', ...Array.from({ length: 8 }, (_x, i) => 2 * i + 2)]);
  }, 60_000);
  it('R3: a binary file given as the Dockerfile: one short line, its bytes escaped', async () => {
    const { readDockerfile } = await import('../../src/dockerfile/read.js');
    const d = tmpDir('imgscope-df-bin-');
    const f = path.join(d, 'Dockerfile');
    // control bytes, an escape sequence and invalid UTF-8 in a 3,000-byte first word
    writeFileSync(f, Buffer.concat([Buffer.from([0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x00, 0x01, 0xff, 0xfe]), Buffer.alloc(3000, 0x41), Buffer.from(' x\n')]));
    let message = '';
    try {
      readDockerfile(f);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.startsWith(`--dockerfile ${f}: line 1: `)).toBe(true);
    expect(message.length).toBeLessThanOrEqual(`--dockerfile ${f}: `.length + 200);
    expect(message).not.toMatch(/[\x00-\x1f\x7f]/);
    expect(message).toContain('\\x1b');
  });
});
