# Welch's t-test computed independently of GSL: statistics by hand, the t distribution's tail
# through the regularized incomplete beta function I_x(df/2, 1/2), integrated by composite
# Simpson's rule in double precision (x = df/(df+t^2) < 1, so the integrand is smooth on [0, x]).
import math
def welch(a, b):
    ma, mb = sum(a)/len(a), sum(b)/len(b)
    va = sum((x-ma)**2 for x in a)/(len(a)-1)/len(a)
    vb = sum((x-mb)**2 for x in b)/(len(b)-1)/len(b)
    t = (ma-mb)/math.sqrt(va+vb)
    df = (va+vb)**2/(va**2/(len(a)-1)+vb**2/(len(b)-1))
    x = df/(df+t*t); p, q = df/2, 0.5
    lnB = math.lgamma(p)+math.lgamma(q)-math.lgamma(p+q)
    n = 2000000; h = x/n
    f = lambda u: math.exp((p-1)*math.log(u)+(q-1)*math.log1p(-u)-lnB) if u > 0 else (0.0 if p > 1 else (1/math.exp(lnB) if p == 1 else float('inf')))
    s = f(0)+f(x)
    for i in range(1, n):
        s += (4 if i % 2 else 2)*f(i*h)
    return t, df, s*h/3
A1=[27.5,21.0,19.0,23.6,17.0,17.9,16.9,20.1,21.9,22.6,23.1,19.6,19.0,21.7,21.4]
A2=[27.1,22.0,20.8,23.4,23.4,23.5,25.8,22.0,24.8,20.2,21.9,22.1,22.9,20.5,24.4]
print("wiki1 %.12g %.12g %.12g" % welch(A1,A2))
print("small %.12g %.12g %.12g" % welch([0.91,0.92,0.905],[0.88,0.90,0.87,0.89]))
print("summary %.12g %.12g %.12g" % welch([0.92,0.93,0.94],[0.90,0.91,0.92]))
print("fgsm %.12g %.12g %.12g" % welch([0.52,0.55,0.61],[0.40,0.42,0.47]))
