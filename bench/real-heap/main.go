// Command realheap writes a real Go heap profile (allocs, every 256th byte sampled)
// of parsing and type-checking part of the Go standard library: hundreds of thousands
// of distinct allocation stacks, 30 to 40 frames deep, through inlined calls, the
// kind of profile a Go service's /debug/pprof/allocs gives.
//
// Usage: realheap OUTPUT [DIRECTORIES]
package main

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: realheap OUTPUT [DIRECTORIES]")
		os.Exit(2)
	}
	limit := 60
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "realheap: bad directory count:", err)
			os.Exit(2)
		}
		limit = n
	}
	runtime.MemProfileRate = 256
	var dirs []string
	root := filepath.Join(runtime.GOROOT(), "src")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && !strings.Contains(p, "testdata") && !strings.Contains(p, "vendor") {
			dirs = append(dirs, p)
		}
		return nil
	})
	var kept []*ast.File
	for i, d := range dirs {
		if i >= limit {
			break
		}
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, d, nil, parser.ParseComments)
		if err != nil {
			continue
		}
		for _, pkg := range pkgs {
			var files []*ast.File
			for _, f := range pkg.Files {
				files = append(files, f)
			}
			conf := types.Config{
				Importer: importer.ForCompiler(fset, "source", nil),
				Error:    func(error) {},
			}
			info := &types.Info{
				Types: map[ast.Expr]types.TypeAndValue{},
				Defs:  map[*ast.Ident]types.Object{},
				Uses:  map[*ast.Ident]types.Object{},
			}
			conf.Check(pkg.Name, fset, files, info)
			if i%7 == 0 {
				kept = append(kept, files...)
			}
		}
	}
	out, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "realheap:", err)
		os.Exit(1)
	}
	if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
		fmt.Fprintln(os.Stderr, "realheap:", err)
		os.Exit(1)
	}
	if err := out.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "realheap:", err)
		os.Exit(1)
	}
	runtime.KeepAlive(kept)
}
