package quay_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay"
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
func ExampleError() {
	c, err := quay.New("https://quay.example.com", quay.WithToken("token"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.GetRobot(context.Background(), "acme", "mirror")
	var qe *quay.Error
	switch {
	case errors.Is(err, quaymirror.ErrNotFound):
		fmt.Println("create the robot first")
	case errors.As(err, &qe):
		fmt.Println(qe.Method, qe.URL, qe.Status, qe.Message)
	}
}
