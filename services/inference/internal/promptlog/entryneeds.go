package promptlog

import (
	"encoding/json"
	"slices"
)

// NeedsOf is what the logged request needed: ingest:read when it named
// collections itself (rampart.collections), and one of the model it asked
// for (an assistant's name, say) or answering, the model that answered.
// A request that does not parse needs its answering model only.
func NeedsOf(request json.RawMessage, answering string) *ReaderNeeds {
	var r struct {
		Model   string `json:"model"`
		Rampart *struct {
			Collections []string `json:"collections"`
		} `json:"rampart"`
	}
	_ = json.Unmarshal(request, &r) // logged after it was served: it parsed then
	n := &ReaderNeeds{Search: r.Rampart != nil && len(r.Rampart.Collections) > 0}
	for _, m := range []string{r.Model, answering} {
		if m != "" && !slices.Contains(n.Models, m) {
			n.Models = append(n.Models, m)
		}
	}
	return n
}
