package quay_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// One Client per organisation token, sharing one transport (and so its
// connections) to the same registry.
func ExampleNew() {
	base, err := quay.NewTransport(quay.TransportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	tokens := map[string]string{"acme": "acme-token", "beta": "beta-token"}
	clients := map[string]*quay.Client{}
	for org, token := range tokens {
		c, err := quay.New("https://quay.example.com", quay.WithToken(token), quay.WithTransport(base))
		if err != nil {
			log.Fatal(err)
		}
		clients[org] = c
	}
	fmt.Println(len(clients), clients["acme"].BaseURL())
	// Output: 2 https://quay.example.com
}

// Errors unwrap to the core sentinels; *quay.Error tells the details.
// (An emulated Quay answers here, on loopback.)
func ExampleError() {
	reg := fake.New()
	if err := reg.AddOrganization("acme"); err != nil {
		log.Fatal(err)
	}
	em, err := quaytest.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	if err := em.AddAdmin("admin", "token", quaytest.ScopeOrgAdmin, quaytest.ScopeUserRead); err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(em)
	defer srv.Close()
	ctx := context.Background()

	c, err := quay.New(srv.URL, quay.WithToken("token"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.GetRobot(ctx, "acme", "mirror")
	var qe *quay.Error
	if errors.Is(err, quaymirror.ErrNotFound) && errors.As(err, &qe) {
		fmt.Println("create the robot first:", qe.Method, qe.Status, qe.Message)
	}

	expired, err := quay.New(srv.URL, quay.WithToken("expired"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = expired.CurrentUser(ctx)
	if errors.Is(err, quaymirror.ErrUnauthorized) && errors.As(err, &qe) {
		fmt.Println("renew the token:", qe.Status)
	}
	// Output:
	// create the robot first: GET 400 Could not find robot with specified username
	// renew the token: 401
}
