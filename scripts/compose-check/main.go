// compose-check loads a Compose file the way `docker compose config` does, with compose-go (the
// Compose specification's reference library: its JSON schema, interpolation, normalisation and
// consistency checks), and prints the resolved project as JSON. No Docker engine is needed.
// test/deploy-files.test.ts runs it on docker-compose.yml; scripts/setup.sh builds it.
//
//	compose-check <compose file>   (interpolation reads this process's environment)
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check <compose file>")
		os.Exit(2)
	}
	file, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	content, err := os.ReadFile(file)
	if err != nil {
		fail(err)
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(file),
		ConfigFiles: []types.ConfigFile{{Filename: file, Content: content}},
		Environment: env,
	}
	project, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("voice-gateway", true)
		// env_file (.env) is the operator's and absent here: check the file, not a deployment.
		o.SkipResolveEnvironment = true
	})
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
