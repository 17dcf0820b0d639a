package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads the compose file the way `docker compose` does: schema
// validation, interpolation, normalization, consistency checks (e.g. depends_on
// naming a defined service) and resolved paths, with every profile enabled so
// that profile-only services are checked too.
//
// Unlike docker compose it ignores the caller's environment: the result must
// not depend on who runs the check, only on the committed env file.
func loadCompose(ctx context.Context, composePath, envFile string) (*types.Project, error) {
	composePath, err := filepath.Abs(composePath)
	if err != nil {
		return nil, err
	}
	options := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(filepath.Dir(composePath)),
		cli.WithResolvedPaths(true),
		cli.WithProfiles([]string{"*"}),
	}
	if envFile != "" {
		envFile, err = filepath.Abs(envFile)
		if err != nil {
			return nil, err
		}
		options = append(options, cli.WithEnvFiles(envFile), cli.WithDotEnv)
	}
	projectOptions, err := cli.NewProjectOptions([]string{composePath}, options...)
	if err != nil {
		return nil, err
	}
	return projectOptions.LoadProject(ctx)
}

// buildTarget is one (context, Dockerfile) pair and the services built from it.
type buildTarget struct {
	contextDir string
	dockerfile string // absolute
	services   []string
	// volumeMounts are the named volumes those services mount, by container path.
	volumeMounts map[string]volumeMount
}

// volumeMount is a named volume mounted into a service built from a Dockerfile.
type volumeMount struct {
	service, volume, target string
}

// buildTargets groups the services that build an image by context and Dockerfile,
// so a Dockerfile shared by several services is checked once.
func buildTargets(project *types.Project) []buildTarget {
	byKey := map[string]*buildTarget{}
	for _, name := range slices.Sorted(maps.Keys(project.Services)) {
		build := project.Services[name].Build
		if build == nil {
			continue
		}
		dockerfile := build.Dockerfile
		if dockerfile == "" {
			dockerfile = "Dockerfile"
		}
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(build.Context, dockerfile)
		}
		key := build.Context + "\x00" + dockerfile
		if byKey[key] == nil {
			byKey[key] = &buildTarget{contextDir: build.Context, dockerfile: dockerfile, volumeMounts: map[string]volumeMount{}}
		}
		byKey[key].services = append(byKey[key].services, name)
		for _, mount := range project.Services[name].Volumes {
			if mount.Type == types.VolumeTypeVolume && mount.Source != "" {
				byKey[key].volumeMounts[mount.Target] = volumeMount{service: name, volume: mount.Source, target: mount.Target}
			}
		}
	}
	targets := make([]buildTarget, 0, len(byKey))
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		targets = append(targets, *byKey[key])
	}
	return targets
}

// summarize is a one-paragraph account of what the loader saw.
func summarize(project *types.Project) string {
	profiles := map[string]bool{}
	for _, service := range project.Services {
		for _, profile := range service.Profiles {
			profiles[profile] = true
		}
	}
	return fmt.Sprintf("compose project %q: %d services [%s]; profiles [%s]; volumes [%s]",
		project.Name, len(project.Services),
		strings.Join(slices.Sorted(maps.Keys(project.Services)), " "),
		strings.Join(slices.Sorted(maps.Keys(profiles)), " "),
		strings.Join(slices.Sorted(maps.Keys(project.Volumes)), " "))
}
