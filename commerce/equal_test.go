package commerce

import (
	"reflect"
	"testing"
	"time"
)

// deepSame is what sameCheckout answered when it was written with reflect.DeepEqual.
func deepSame(a, b *Checkout) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	y.UpdatedAt = x.UpdatedAt
	if len(x.Messages) == 0 && len(y.Messages) == 0 {
		x.Messages, y.Messages = nil, nil
	}
	return reflect.DeepEqual(x, y)
}

var timeType = reflect.TypeFor[time.Time]()

// fill sets every field v holds, through pointers and slices (two elements each), to a
// value that is not zero.
func fill(v reflect.Value) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	default:
		panic("fill: a field of kind " + v.Kind().String() + ": teach fill and sameCheckout about it")
	}
}

// mutations calls try after each change it makes to v, one at a time, and undoes it:
// every leaf changed, every pointer set to nil, every slice set to nil, emptied and cut
// short.
func mutations(v reflect.Value, path string, try func(path string)) {
	if v.Type() == timeType {
		old := v.Interface().(time.Time)
		v.Set(reflect.ValueOf(old.Add(time.Nanosecond)))
		try(path)
		v.Set(reflect.ValueOf(old))
		return
	}
	switch v.Kind() {
	case reflect.String:
		old := v.String()
		v.SetString(old + "y")
		try(path)
		v.SetString(old)
	case reflect.Int, reflect.Int64:
		old := v.Int()
		v.SetInt(old + 1)
		try(path)
		v.SetInt(old)
	case reflect.Bool:
		old := v.Bool()
		v.SetBool(!old)
		try(path)
		v.SetBool(old)
	case reflect.Pointer:
		old := reflect.ValueOf(v.Interface())
		v.Set(reflect.Zero(v.Type()))
		try(path + "=nil")
		v.Set(old)
		if !old.IsNil() {
			mutations(old.Elem(), path, try)
		}
	case reflect.Slice:
		old := reflect.ValueOf(v.Interface())
		v.Set(reflect.Zero(v.Type()))
		try(path + "=nil")
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		try(path + "=[]")
		if old.Len() > 0 {
			v.Set(old.Slice(0, old.Len()-1))
			try(path + "[:n-1]")
		}
		v.Set(old)
		for i := range old.Len() {
			mutations(old.Index(i), path+"[i]", try)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			mutations(v.Field(i), path+"."+v.Type().Field(i).Name, try)
		}
	}
}

// TestSameCheckoutSeesEveryField changes every field of a checkout in turn, and asks
// sameCheckout and reflect.DeepEqual (which sees every field there is) whether the
// checkout is the same: they must agree each time.
func TestSameCheckoutSeesEveryField(t *testing.T) {
	var a Checkout
	fill(reflect.ValueOf(&a).Elem())
	b := a.Clone()
	if !sameCheckout(&a, b) || !deepSame(&a, b) {
		t.Fatal("a clone is not the same checkout")
	}
	n := 0
	mutations(reflect.ValueOf(b).Elem(), "Checkout", func(path string) {
		n++
		if got, want := sameCheckout(&a, b), deepSame(&a, b); got != want {
			t.Errorf("%s changed: sameCheckout says %v, reflect.DeepEqual %v", path, got, want)
		}
		if got, want := sameCheckout(b, &a), deepSame(b, &a); got != want {
			t.Errorf("%s changed (other way round): sameCheckout says %v, reflect.DeepEqual %v", path, got, want)
		}
	})
	if n < 100 {
		t.Fatalf("only %d changes tried", n)
	}
	if sameCheckout(&a, nil) || sameCheckout(nil, &a) || !sameCheckout(nil, nil) {
		t.Error("nil checkouts")
	}
}

// BenchmarkSameCheckout compares a full checkout with its clone, as sameCheckout does and
// as reflect.DeepEqual did.
func BenchmarkSameCheckout(b *testing.B) {
	var x Checkout
	fill(reflect.ValueOf(&x).Elem())
	y := x.Clone()
	for _, bm := range []struct {
		name string
		same func(a, b *Checkout) bool
	}{{"fields", sameCheckout}, {"reflect", deepSame}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !bm.same(&x, y) {
					b.Fatal("not the same")
				}
			}
		})
	}
}
