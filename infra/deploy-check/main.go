// Command deploy-check validates docker-compose.yml and the service Dockerfiles
// with the libraries Docker itself uses (compose-go for `docker compose`, the
// BuildKit Dockerfile frontend for `docker build`), so the stack is checked on
// machines without a Docker engine.
//
//	go run . --compose ../../docker-compose.yml --env-file ../../.env.example \
//	         --dockerfiles 'services/*/Dockerfile'
//
// Exit status: 0 when everything passes, 1 when a problem is found, 2 on bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

func main() {
	composePath := flag.String("compose", "docker-compose.yml", "compose file to load")
	envFile := flag.String("env-file", "", "env file used for interpolation (docker compose --env-file)")
	dockerfileGlob := flag.String("dockerfiles", "",
		"glob, relative to the compose file's folder, of Dockerfiles that must all be built by a service")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}

	project, err := loadCompose(context.Background(), *composePath, *envFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", *composePath, err)
		os.Exit(1)
	}
	fmt.Println(summarize(project))

	targets := buildTargets(project)
	var problems []string
	if *dockerfileGlob != "" {
		problems = append(problems, unbuiltDockerfiles(project.WorkingDir, *dockerfileGlob, targets)...)
	}

	// One shared base image means the services share its layers on a host.
	bases := map[string][]string{}
	for _, target := range targets {
		result := checkDockerfile(target)
		problems = append(problems, result.problems...)
		if result.baseImage != "" {
			bases[result.baseImage] = append(bases[result.baseImage], relativeTo(project.WorkingDir, target.dockerfile))
		}
		fmt.Println(result.summary)
	}
	if len(bases) > 1 {
		problems = append(problems, fmt.Sprintf("final stages do not share one base image: %v", bases))
	}

	if len(problems) > 0 {
		for _, problem := range problems {
			fmt.Fprintln(os.Stderr, "FAIL "+problem)
		}
		fmt.Fprintf(os.Stderr, "%d problem(s)\n", len(problems))
		os.Exit(1)
	}
	fmt.Printf("OK: compose file and %d Dockerfile(s) pass\n", len(targets))
}

// unbuiltDockerfiles lists Dockerfiles matching glob that no service builds:
// they would never be checked against a build context, nor deployed.
func unbuiltDockerfiles(root, glob string, targets []buildTarget) []string {
	matches, err := filepath.Glob(filepath.Join(root, glob))
	if err != nil {
		return []string{fmt.Sprintf("--dockerfiles %q: %v", glob, err)}
	}
	if len(matches) == 0 {
		return []string{fmt.Sprintf("--dockerfiles %q matches no file", glob)}
	}
	var problems []string
	for _, match := range matches {
		built := slices.ContainsFunc(targets, func(t buildTarget) bool { return t.dockerfile == match })
		if !built {
			problems = append(problems, fmt.Sprintf("%s: no service in the compose file builds it", relativeTo(root, match)))
		}
	}
	return problems
}

// relativeTo shortens path for messages; it falls back to path itself.
func relativeTo(root, path string) string {
	if rel, err := filepath.Rel(root, path); err == nil {
		return rel
	}
	return path
}
