package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerfileResult is what one Dockerfile check found.
type dockerfileResult struct {
	summary   string
	problems  []string
	baseImage string // external image the final stage is built on ("" if unknown)
}

// dockerfileCheck carries one Dockerfile's context while its stages are walked.
type dockerfileCheck struct {
	target   buildTarget
	name     string // Dockerfile path shown in messages
	ignore   *patternmatcher.PatternMatcher
	lint     *linter.Linter
	problems []string
}

func (c *dockerfileCheck) fail(location []parser.Range, format string, args ...any) {
	line := 0
	if len(location) > 0 {
		line = location[0].Start.Line
	}
	c.problems = append(c.problems, fmt.Sprintf("%s:%d: %s", c.name, line, fmt.Sprintf(format, args...)))
}

// checkDockerfile parses target's Dockerfile with BuildKit's frontend and its
// linter (the rules of `docker build --check`; `# check=` directives apply), then
// checks what the project relies on: several stages, a non-root final stage,
// COPY --from naming a stage, COPY/ADD sources present in the build context.
func checkDockerfile(target buildTarget) dockerfileResult {
	check := &dockerfileCheck{target: target, name: relativeTo(target.contextDir, target.dockerfile)}
	result := func(summary, base string) dockerfileResult {
		return dockerfileResult{summary: summary, problems: check.problems, baseImage: base}
	}
	content, err := os.ReadFile(target.dockerfile)
	if err != nil {
		check.fail(nil, "%v", err)
		return result("", "")
	}
	if check.ignore, err = readDockerignore(target); err != nil {
		check.fail(nil, ".dockerignore: %v", err)
	}
	checkDirective, _, _, _ := parser.ParseDirective("check", content)
	lintConfig, err := linter.ParseLintOptions(checkDirective)
	if err != nil {
		check.fail(nil, "# check= directive: %v", err)
		return result("", "")
	}
	lintConfig.Warn = func(rule, _, url, message string, location []parser.Range) {
		check.fail(location, "%s: %s (%s)", rule, message, url)
	}
	check.lint = linter.New(lintConfig)

	ast, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		check.fail(nil, "parse error: %v", err)
		return result("", "")
	}
	for _, warning := range ast.Warnings {
		check.lint.Run(&linter.RuleNoEmptyContinuation, []parser.Range{*warning.Location},
			linter.RuleNoEmptyContinuation.Format())
	}
	stages, _, err := instructions.Parse(ast.AST, check.lint)
	if err != nil {
		check.fail(nil, "parse error: %v", err)
		return result("", "")
	}
	if len(stages) < 2 {
		check.fail(nil, "%d stage(s): the image must be multi-stage", len(stages))
	}
	for index := range stages {
		check.checkStage(stages, index)
	}
	if len(stages) == 0 {
		return result("", "")
	}

	final := len(stages) - 1
	user, userLocation := effectiveUser(stages, final)
	if isRootUser(user) {
		where := stages[final].Location
		if userLocation != nil {
			where = userLocation
		}
		check.fail(where, "final stage %s runs as root (USER %q): set a non-root USER", stageLabel(stages, final), user)
	}
	if !isRootUser(user) {
		check.checkVolumeTargets(stages, final, user)
	}
	base := baseImage(stages, final)
	summary := fmt.Sprintf("dockerfile %s (services %s): %d stages, final %s on %s, USER %q",
		check.name, strings.Join(target.services, " "), len(stages), stageLabel(stages, final), base, user)
	return result(summary, base)
}

// checkStage checks one stage's name and the instructions that read files.
func (c *dockerfileCheck) checkStage(stages []instructions.Stage, index int) {
	stage := stages[index]
	lint := c.lint.WithMergedConfigFromComments(stage.Comments)
	if name := strings.ToLower(stage.Name); name != "" {
		if name == "scratch" || name == "context" {
			lint.Run(&linter.RuleReservedStageName, stage.Location, linter.RuleReservedStageName.Format(name))
		}
		if stageIndex(stages, name) < index {
			lint.Run(&linter.RuleDuplicateStageName, stage.Location, linter.RuleDuplicateStageName.Format(name))
		}
	}
	for _, command := range stage.Commands {
		switch cmd := command.(type) {
		case *instructions.CopyCommand:
			if cmd.From == "" {
				c.checkSources("COPY", cmd.SourcePaths, cmd.Location())
			} else if from := stageIndex(stages, cmd.From); from < 0 || from >= index {
				c.fail(cmd.Location(), "COPY --from=%s names no earlier stage of this Dockerfile", cmd.From)
			}
		case *instructions.AddCommand:
			c.checkSources("ADD", cmd.SourcePaths, cmd.Location())
		case *instructions.CmdCommand:
			if cmd.PrependShell {
				lint.Run(&linter.RuleJSONArgsRecommended, cmd.Location(), linter.RuleJSONArgsRecommended.Format("CMD"))
			}
		case *instructions.EntrypointCommand:
			if cmd.PrependShell {
				lint.Run(&linter.RuleJSONArgsRecommended, cmd.Location(), linter.RuleJSONArgsRecommended.Format("ENTRYPOINT"))
			}
		}
	}
}

// checkSources checks that every local source of a COPY/ADD is in the build
// context and not left out of it by .dockerignore.
func (c *dockerfileCheck) checkSources(instruction string, sources []string, location []parser.Range) {
	for _, source := range sources {
		if strings.Contains(source, "://") || strings.HasPrefix(source, "git@") {
			continue // ADD of a URL or a Git repository, not from the context
		}
		if strings.Contains(source, "$") {
			c.fail(location, "%s source %q uses a variable, which this check cannot resolve", instruction, source)
			continue
		}
		// Sources are relative to the context root even when written absolute.
		relative := filepath.Clean(strings.TrimPrefix(source, "/"))
		matches, err := filepath.Glob(filepath.Join(c.target.contextDir, relative))
		if err != nil || len(matches) == 0 {
			c.fail(location, "%s source %q does not exist in the build context %s", instruction, source, c.target.contextDir)
			continue
		}
		if c.ignore == nil {
			continue
		}
		for _, match := range matches {
			ignored, err := c.ignore.MatchesOrParentMatches(relativeTo(c.target.contextDir, match))
			if err == nil && ignored {
				c.fail(location, "%s: %s", linter.RuleCopyIgnoredFile.Name,
					linter.RuleCopyIgnoredFile.Format(instruction, source))
			}
		}
	}
}

// checkVolumeTargets checks that the image creates every path a named volume is
// mounted at. Docker creates a missing mount point owned by root, and a new named
// volume copies the ownership of the image's folder at that path, so a non-root
// USER can write to the volume only if the image made that folder (and owns it).
func (c *dockerfileCheck) checkVolumeTargets(stages []instructions.Stage, final int, user string) {
	runWords := map[string]bool{}
	for index := final; index >= 0; index = stageIndex(stages[:index], stages[index].BaseName) {
		for _, command := range stages[index].Commands {
			if run, ok := command.(*instructions.RunCommand); ok {
				for _, word := range strings.Fields(strings.Join(run.CmdLine, " ")) {
					runWords[strings.TrimSuffix(word, "/")] = true
				}
			}
		}
	}
	for _, target := range slices.Sorted(maps.Keys(c.target.volumeMounts)) {
		mount := c.target.volumeMounts[target]
		if !runWords[strings.TrimSuffix(target, "/")] {
			c.fail(stages[final].Location, "service %s mounts volume %s at %s, which no RUN of the final stage creates: "+
				"Docker would create it owned by root and USER %s could not write to it (mkdir and chown it)",
				mount.service, mount.volume, target, user)
		}
	}
}

// readDockerignore reads the ignore file BuildKit would use: <Dockerfile>.dockerignore
// beside the Dockerfile if present, else .dockerignore at the context root.
func readDockerignore(target buildTarget) (*patternmatcher.PatternMatcher, error) {
	for _, path := range []string{target.dockerfile + ".dockerignore", filepath.Join(target.contextDir, ".dockerignore")} {
		file, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer file.Close()
		patterns, err := ignorefile.ReadAll(file)
		if err != nil {
			return nil, err
		}
		return patternmatcher.New(patterns)
	}
	return nil, nil
}

// stageIndex finds a stage by name (case-insensitive) or by number; -1 if none.
func stageIndex(stages []instructions.Stage, ref string) int {
	for index, stage := range stages {
		if strings.EqualFold(stage.Name, ref) {
			return index
		}
	}
	if number, err := strconv.Atoi(ref); err == nil && number >= 0 && number < len(stages) {
		return number
	}
	return -1
}

// stageLabel names a stage in messages: its name, else its number.
func stageLabel(stages []instructions.Stage, index int) string {
	if stages[index].Name != "" {
		return strconv.Quote(stages[index].Name)
	}
	return "#" + strconv.Itoa(index)
}

// effectiveUser is the USER a stage runs as: its own last USER, else the one it
// inherits from the stage it is built FROM ("" = the image default, root here).
func effectiveUser(stages []instructions.Stage, index int) (string, []parser.Range) {
	for seen := 0; index >= 0 && seen < len(stages); seen++ {
		stage := stages[index]
		for i := len(stage.Commands) - 1; i >= 0; i-- {
			if user, ok := stage.Commands[i].(*instructions.UserCommand); ok {
				return user.User, user.Location()
			}
		}
		index = stageIndex(stages[:index], stage.BaseName)
	}
	return "", nil
}

// isRootUser reports whether USER value runs as root ("root", "0", "root:grp", ...).
func isRootUser(user string) bool {
	name, _, _ := strings.Cut(user, ":")
	return name == "" || name == "root" || name == "0"
}

// baseImage follows FROM <stage> links down to the external image reference.
func baseImage(stages []instructions.Stage, index int) string {
	for seen := 0; seen < len(stages); seen++ {
		parent := stageIndex(stages[:index], stages[index].BaseName)
		if parent < 0 {
			return stages[index].BaseName
		}
		index = parent
	}
	return ""
}
