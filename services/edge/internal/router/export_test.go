package router

// OwnPatterns are the ServeMux patterns of the routes the edge answers
// itself (ownRoutes), for TestEveryServedRouteHasARow.
func OwnPatterns() []string {
	var out []string
	for _, rt := range ownRoutes(Options{}) {
		out = append(out, rt.pattern)
	}
	return out
}
