// Static files for -dir: GET and HEAD of the files under one directory.

package main

import (
	"github.com/wirelab/wirelab/http1"
)

// staticFiles serves the files under dir.
type staticFiles struct {
	dir string
}

func (s *staticFiles) ServeHTTP(w http1.ResponseWriter, r *http1.Request) {
	http1.NotFoundHandler.ServeHTTP(w, r)
}
